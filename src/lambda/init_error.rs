//! Reports a failed initialisation through the Runtime API's `/runtime/init/error`, so the Lambda
//! console and logs show what to fix instead of a bare "Runtime exited".
//!
//! `lambda_runtime` only reports init errors of its own (SnapStart hooks); configuration is read
//! before the runtime starts, so this posts the documented request itself.

use serde_json::json;

/// Posts the error to `$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error`; a failure to
/// report is printed, since the process is about to exit anyway.
pub async fn report_init_error(error_type: &str, message: &str) {
    let Some(api) = crate::config::runtime_api() else {
        return;
    };
    let url = init_error_url(&api);
    let body = json!({ "errorType": error_type, "errorMessage": message });
    let sent = reqwest::Client::new()
        .post(url)
        .header("Lambda-Runtime-Function-Error-Type", error_type)
        .json(&body)
        .send()
        .await;
    if let Err(err) = sent {
        eprintln!("could not report the init error to the Runtime API: {err}");
    }
}

/// Lambda gives the Runtime API as `host:port`; `cargo lambda watch` gives a URL. Both work, as
/// they do for `lambda_runtime`.
fn init_error_url(api: &str) -> String {
    let base = if api.starts_with("http://") || api.starts_with("https://") {
        api.trim_end_matches('/').to_owned()
    } else {
        format!("http://{api}")
    };
    format!("{base}/2018-06-01/runtime/init/error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_api_is_taken_as_lambda_and_cargo_lambda_give_it() {
        let expected = "http://127.0.0.1:9000/2018-06-01/runtime/init/error";
        for api in ["127.0.0.1:9000", "http://127.0.0.1:9000", "http://127.0.0.1:9000/"] {
            assert_eq!(init_error_url(api), expected, "{api}");
        }
    }
}
