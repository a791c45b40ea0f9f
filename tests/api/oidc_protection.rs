//! Template check (issue 25.1): the public OIDC API is protected per source. AWS WAF cannot run
//! here, so this reads `template.yaml`: the OIDC routes are on a regional REST API of their own
//! (an HTTP API cannot take a web ACL), public, beside the untouched IAM-only API; a REGIONAL web
//! ACL is associated with that API's stage and has a rate-based rule keyed on the client IP,
//! whose limit and window are the parameters `tests/api/slot_limit.rs` models (their defaults sized
//! so the rule never blocks a source below what the stage admits in total); the Genesys egress
//! allow-list exempts its ranges from that rule and admits nobody else; blocks are logged without
//! the Authorization header; and the attack's signs are alarmed.

use serde_json::{Value, json};
use test_kit::template::{Template, assert_alarmed};

const OIDC_ROUTES: [(&str, &str); 3] = [
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/.well-known/jwks.json"),
    ("POST", "/oidc/token"),
];

fn reference(name: &str) -> Value {
    json!({"Ref": name})
}

#[test]
fn the_oidc_routes_are_on_a_public_regional_rest_api_of_their_own_and_the_guest_api_keeps_iam() {
    let template = Template::load();
    let api = template.resource("OidcApi");
    assert_eq!(
        api["Type"], "AWS::Serverless::Api",
        "a REST API: an HTTP API cannot take a web ACL"
    );
    assert_eq!(api["Properties"]["EndpointConfiguration"]["Type"], "REGIONAL");
    assert!(
        api["Properties"].get("Auth").is_none(),
        "public: Genesys calls anonymously"
    );
    let settings = &api["Properties"]["MethodSettings"][0];
    assert_eq!(
        (&settings["ThrottlingRateLimit"], &settings["ThrottlingBurstLimit"]),
        (
            &reference("OidcThrottlingRateLimit"),
            &reference("OidcThrottlingBurstLimit")
        ),
        "the stage throttle stays, the backstop for all sources together"
    );
    assert_eq!(
        api["Properties"]["AccessLogSetting"]["DestinationArn"],
        json!({"Fn::GetAtt": ["OidcApiAccessLogGroup", "Arn"]})
    );

    let routed = |function: &str, api: &str| -> Vec<(String, String)> {
        let events = template.resource(function)["Properties"]["Events"].clone();
        events
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, event)| event["Type"] == "Api" && event["Properties"]["RestApiId"] == reference(api))
            .map(|(_, event)| {
                let properties = &event["Properties"];
                let text = |key: &str| properties[key].as_str().unwrap_or_default().to_uppercase();
                (
                    text("Method"),
                    properties["Path"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let expected: Vec<(String, String)> = OIDC_ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(routed("OidcFunction", "OidcApi"), expected);
    assert_eq!(routed("OidcFunction", "Api"), [], "never on the IAM-only API");
    assert_eq!(
        routed("Function", "OidcApi"),
        [],
        "the guest function serves no OIDC route"
    );

    let guest_api = &template.resource("Api")["Properties"]["Auth"];
    assert_eq!(guest_api["DefaultAuthorizer"], "AWS_IAM");
    assert!(guest_api["ResourcePolicy"]["CustomStatements"].is_array());
    assert_eq!(
        template.resources_of_type("AWS::ApiGatewayV2::Api"),
        Vec::<String>::new(),
        "no HTTP API is left for the OIDC routes to be reached around the web ACL"
    );
}

#[test]
fn a_regional_web_acl_on_the_oidc_stage_blocks_each_client_ip_beyond_its_rate() {
    let template = Template::load();
    let association = &template.resource("OidcApiWebAclAssociation")["Properties"];
    assert_eq!(
        association["WebACLArn"],
        json!({"Fn::GetAtt": ["OidcApiWebAcl", "Arn"]})
    );
    assert_eq!(
        association["ResourceArn"],
        json!({"Fn::Sub": [
            "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${OidcApi}/stages/${Stage}",
            {"Stage": {"Ref": "OidcApi.Stage"}}
        ]}),
        "the OIDC API's own stage"
    );
    let acl = &template.resource("OidcApiWebAcl")["Properties"];
    assert_eq!(
        acl["Scope"], "REGIONAL",
        "a CLOUDFRONT web ACL can only be made in us-east-1"
    );
    assert_eq!(acl["DefaultAction"], json!({"Allow": {}}));
    let visible = json!(true);
    assert_eq!(
        (
            &acl["VisibilityConfig"]["CloudWatchMetricsEnabled"],
            &acl["VisibilityConfig"]["SampledRequestsEnabled"]
        ),
        (&visible, &visible)
    );
    let rules = acl["Rules"].as_array().expect("rules");
    let rule = rules
        .iter()
        .find(|rule| rule["Statement"].get("RateBasedStatement").is_some())
        .expect("a rate-based rule");
    let rate = &rule["Statement"]["RateBasedStatement"];
    assert_eq!(rate["AggregateKeyType"], "IP", "one count per client IP");
    assert_eq!(rate["Limit"], reference("OidcRateLimitPerSource"));
    assert_eq!(rate["EvaluationWindowSec"], reference("OidcRateLimitWindowSeconds"));
    assert_eq!(rule["Action"], json!({"Block": {}}));
    assert_eq!(rule["VisibilityConfig"]["MetricName"], "PerSourceRateLimit");
    assert_eq!(rule["VisibilityConfig"]["CloudWatchMetricsEnabled"], true);

    // Sized against a flood: one address, staying just under its limit, takes at most a quarter
    // of what the stage admits from everyone, so Genesys's callbacks keep the rest.
    let window = template.numeric_default("OidcRateLimitWindowSeconds");
    assert!([60, 120, 300, 600].contains(&window), "a window WAF offers: {window}");
    let per_source = template.numeric_default("OidcRateLimitPerSource");
    let stage = template.numeric_default("OidcThrottlingRateLimit") * window;
    assert!(
        per_source * 4 <= stage,
        "one source may take {per_source} of the stage's {stage} per window"
    );
}

#[test]
fn the_genesys_egress_allow_list_exempts_its_ranges_from_the_rate_rule_and_admits_nobody_else() {
    let template = Template::load();
    let acl = &template.resource("OidcApiWebAcl")["Properties"];
    let rules = acl["Rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 1, "no rule that would block (or admit only) some sources");
    assert_eq!(
        acl["DefaultAction"],
        json!({"Allow": {}}),
        "outside the ranges: admitted, but limited"
    );
    assert_eq!(
        rules[0]["Statement"]["RateBasedStatement"]["ScopeDownStatement"],
        json!({"Fn::If": [
            "HasGenesysEgressCidrs",
            {"NotStatement": {"Statement": {"IPSetReferenceStatement": {"Arn": {"Fn::GetAtt": ["OidcGenesysEgress", "Arn"]}}}}},
            {"Ref": "AWS::NoValue"}
        ]}),
        "with ranges, only requests from outside them are counted; without, every request is"
    );
    let ip_set = template.resource("OidcGenesysEgress");
    assert_eq!(ip_set["Condition"], "HasGenesysEgressCidrs");
    assert_eq!(
        ip_set["Properties"]["Addresses"],
        json!({"Fn::Split": [",", {"Ref": "OidcGenesysEgressCidrs"}]})
    );
    assert_eq!(template.default_of("OidcGenesysEgressCidrs"), "", "optional");
    assert_eq!(
        template.json()["Conditions"]["HasGenesysEgressCidrs"],
        json!({"Fn::And": [
            {"Condition": "WebMessaging"},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "OidcGenesysEgressCidrs"}, ""]}]}
        ]})
    );
}

#[test]
fn blocked_requests_are_logged_without_the_authorization_header() {
    let template = Template::load();
    let logging = &template.resource("OidcApiWafLogging")["Properties"];
    assert_eq!(logging["ResourceArn"], json!({"Fn::GetAtt": ["OidcApiWebAcl", "Arn"]}));
    assert_eq!(
        logging["RedactedFields"],
        json!([{"SingleHeader": {"Name": "authorization"}}])
    );
    assert_eq!(logging["LoggingFilter"]["DefaultBehavior"], "DROP");
    assert_eq!(
        logging["LoggingFilter"]["Filters"][0]["Conditions"],
        json!([{"ActionCondition": {"Action": "BLOCK"}}])
    );
    let group = &template.resource("OidcApiWafLogGroup")["Properties"];
    assert_eq!(
        group["LogGroupName"],
        json!({"Fn::Sub": "aws-waf-logs-${AWS::StackName}-oidc"})
    );
    assert_eq!(group["RetentionInDays"], reference("LogRetentionInDays"));
}

#[test]
fn the_oidc_apis_blocks_throttles_4xx_and_refused_clients_are_alarmed_to_the_alarm_topic() {
    let template = Template::load();
    for (alarm, namespace, metric) in [
        ("OidcRateLimitBlocksAlarm", "AWS/WAFV2", "BlockedRequests"),
        ("OidcApi429sAlarm", "GuestTokenBroker", "OidcApi429s"),
        ("OidcApi4xxAlarm", "AWS/ApiGateway", "4XXError"),
        ("OidcInvalidClientAlarm", "GuestTokenBroker", "OidcInvalidClient"),
    ] {
        assert_alarmed(&template, alarm, namespace, metric);
    }
    let blocks = &template.resource("OidcRateLimitBlocksAlarm")["Properties"]["Dimensions"];
    assert!(
        blocks
            .as_array()
            .unwrap()
            .contains(&json!({"Name": "Rule", "Value": "PerSourceRateLimit"}))
    );
    let filter = &template.resource("OidcApi429sMetricFilter")["Properties"];
    assert_eq!(filter["LogGroupName"], reference("OidcApiAccessLogGroup"));
    assert_eq!(filter["FilterPattern"], r#"{ $.status = "429" }"#);
}
