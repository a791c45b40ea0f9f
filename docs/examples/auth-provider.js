// The brand page's AuthProvider plugin for Genesys Messenger (authenticated web messaging): it
// asks the brand's own backend for an authorization code from the broker (POST /auth-codes) and
// resolves Messenger's getAuthCode with it. Load it right after the Messenger snippet, once the
// customer is signed in to the brand's site. The PKCE verifier and the nonce are made here, in the
// browser; the backend only ever sees the challenge.
(function () {
  // Where the brand's backend answers for the signed-in customer (its session cookie says who).
  const BACKEND_AUTH_CODE_URL = '/messenger/auth-code';
  // Where the brand signs a customer in again when Messenger's tokens no longer work.
  const LOGIN_URL = '/login';

  function base64url(bytes) {
    let text = '';
    bytes.forEach((byte) => {
      text += String.fromCharCode(byte);
    });
    return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  // RFC 7636: a 43-character verifier from 32 random bytes, and its S256 challenge.
  async function pkce() {
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    return { verifier, challenge: base64url(new Uint8Array(digest)) };
  }

  Genesys('registerPlugin', 'AuthProvider', (AuthProvider) => {
    // Messenger calls this whenever it needs a fresh code: at sign-in and on every
    // re-authentication. Each call gets a new single-use code.
    AuthProvider.registerCommand('getAuthCode', async (e) => {
      try {
        const { verifier, challenge } = await pkce();
        const nonce = crypto.randomUUID();
        const response = await fetch(BACKEND_AUTH_CODE_URL, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ codeChallenge: challenge, codeChallengeMethod: 'S256', nonce }),
        });
        if (!response.ok) {
          throw new Error(`the backend answered ${response.status}`);
        }
        const code = await response.json();
        e.resolve({
          authCode: code.authCode,
          redirectUri: code.redirectUri,
          nonce: code.nonce,
          codeVerifier: verifier,
        });
      } catch (error) {
        e.reject(error);
      }
    });

    // Messenger calls this when its refresh token and codes no longer work: sign in again. After
    // the login, Messenger calls getAuthCode by itself.
    AuthProvider.registerCommand('reAuthenticate', (e) => {
      window.location.assign(`${LOGIN_URL}?next=${encodeURIComponent(window.location.pathname)}`);
      e.resolve();
    });

    // Mandatory: tells Messenger the plugin is ready to be called.
    AuthProvider.ready();
  });
})();
