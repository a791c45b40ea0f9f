//! Reports a failed initialisation through the Runtime API's `/runtime/init/error`, so the Lambda
//! console and logs show what to fix instead of a bare "Runtime exited".
//!
//! `lambda_runtime` only reports init errors of its own (SnapStart hooks); configuration is read
//! before the runtime starts, so this posts the documented request itself.

use serde_json::json;

/// Posts the error to `http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error`; a failure
/// to report is printed, since the process is about to exit anyway.
pub async fn report_init_error(error_type: &str, message: &str) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let url = format!("http://{api}/2018-06-01/runtime/init/error");
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
