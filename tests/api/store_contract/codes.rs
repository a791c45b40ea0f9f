//! The code store's contract, in both stores: a code is redeemed once, every later presentation
//! is told apart from an unknown code (a replay), and an expired code is redeemed as stored (its
//! caller checks the time) and spent all the same.

use chrono::{DateTime, Utc};
use guest_token_broker::domain::{CodeGrant, CodeKey, CustomerProfile};
use guest_token_broker::store::{CodeStore, Redemption};

use super::{at, dynamodb_store};

fn grant(expires_at: DateTime<Utc>) -> CodeGrant {
    CodeGrant {
        redirect_uri: "https://broker.example.com/callback".into(),
        subject: "54e48adaffd9".into(),
        nonce: Some("n-1".into()),
        challenge: None,
        profile: CustomerProfile {
            given_name: Some("Ada".into()),
            ..CustomerProfile::default()
        },
        expires_at,
    }
}

async fn a_code_is_redeemed_once_and_then_told_from_an_unknown_one<S: CodeStore>(store: S) {
    let key = CodeKey::of("code-once");
    let granted = grant(at(60));
    store.put_code(&key, &granted).await.unwrap();
    assert_eq!(
        store.redeem_code(&key, at(1)).await.unwrap(),
        Redemption::Redeemed(granted)
    );
    for later in [2, 3] {
        assert_eq!(
            store.redeem_code(&key, at(later)).await.unwrap(),
            Redemption::AlreadyRedeemed,
            "a replay, however often"
        );
    }
    assert_eq!(
        store.redeem_code(&CodeKey::of("never-issued"), at(4)).await.unwrap(),
        Redemption::Unknown
    );
    assert_eq!(
        store.redeem_code(&CodeKey::of("never-issued"), at(5)).await.unwrap(),
        Redemption::Unknown,
        "presenting an unknown code leaves nothing behind to call a replay"
    );
}

async fn an_expired_code_is_redeemed_as_stored_and_spent_all_the_same<S: CodeStore>(store: S) {
    let key = CodeKey::of("code-expired");
    let expired = grant(at(60));
    store.put_code(&key, &expired).await.unwrap();
    assert_eq!(
        store.redeem_code(&key, at(120)).await.unwrap(),
        Redemption::Redeemed(expired),
        "the caller checks its time"
    );
    assert_eq!(
        store.redeem_code(&key, at(121)).await.unwrap(),
        Redemption::AlreadyRedeemed
    );
}

contract!(
    a_code_is_redeemed_once_and_then_told_from_an_unknown_one,
    an_expired_code_is_redeemed_as_stored_and_spent_all_the_same,
);
