//! A bad configuration at init: reported to the Runtime API's `/init/error` with what to fix (and
//! logged), including when `AWS_LAMBDA_RUNTIME_API` is given as a URL, as cargo lambda gives it.

use crate::deployment::{LAMBDA_BINARY, init_error_of};
use test_kit::runtime_harness::{LambdaFunction, RuntimeHarness};

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_configuration_is_reported_as_an_init_error_saying_what_to_fix() {
    // (the variables set besides the Lambda ones, what the message must say)
    type Case = (&'static [(&'static str, &'static str)], &'static [&'static str]);
    let cases: [Case; 3] = [
        (
            &[
                ("GENESYS_REGION", "atlantis-1"),
                ("GENESYS_CREDENTIALS_SECRET_ID", "genesys"),
            ],
            &["GENESYS_REGION", "atlantis-1", "eu-central-1"],
        ),
        (
            &[
                ("SLIDING_WINDOW_SECONDS", "soon"),
                ("GENESYS_CREDENTIALS_SECRET_ID", "genesys"),
            ],
            &["SLIDING_WINDOW_SECONDS", "whole number"],
        ),
        (&[], &["GENESYS_CREDENTIALS_SECRET_ID", "GENESYS_CLIENT_ID"]),
    ];
    for (env, expected) in cases {
        let env: Vec<(&str, String)> = env.iter().map(|(name, value)| (*name, (*value).to_owned())).collect();
        let (error, lines) = init_error_of(LAMBDA_BINARY, &env).await;
        for words in expected {
            assert!(error.error_message.contains(words), "{env:?}: {error:?}");
        }
        assert!(
            lines.iter().any(|line| line.contains(expected[0])),
            "the log says it too: {lines:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_init_error_reaches_a_runtime_api_given_as_a_url_as_cargo_lambda_gives_it() {
    let harness = RuntimeHarness::start().await;
    let env = [("AWS_LAMBDA_RUNTIME_API", format!("http://{}", harness.runtime_api()))];
    let mut function = LambdaFunction::start(LAMBDA_BINARY, &harness, &env);

    let error = harness.init_error().await;
    function.wait_for_exit();

    let error = error.unwrap_or_else(|| panic!("no init error reported; it printed {:#?}", function.lines()));
    assert_eq!(error.error_type, "Runtime.ConfigurationError", "{error:?}");
}
