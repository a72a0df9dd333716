//! Why a request body is not one JSON-RPC message a client may send, as the
//! JSON-RPC error that says so: a parse error (-32700) for what is not
//! JSON, an invalid request (-32600) for batches and malformed envelopes.
//! A request rmcp cannot match to a method it knows parses anyway (as a
//! custom request); [`unmatched`] answers it: -32602 naming what is wrong
//! when the method is a standard one with bad params, -32601 otherwise.

use rmcp::model::{self as m, ClientJsonRpcMessage, ConstString, ErrorCode, ErrorData};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const INVALID_PARAMS: i64 = -32602;

/// A body refused before it reaches a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub code: i64,
    pub message: String,
    /// The request's id when one could be read, so the client can match it.
    pub id: Value,
}

impl Rejection {
    /// The JSON-RPC error response.
    pub fn body(&self) -> Value {
        json!({"jsonrpc": "2.0", "id": self.id, "error": {"code": self.code, "message": self.message}})
    }
}

/// The message in `body`, or why there is none.
pub fn parse(body: &[u8]) -> Result<ClientJsonRpcMessage, Rejection> {
    let value: Value = serde_json::from_slice(body).map_err(|e| Rejection {
        code: PARSE_ERROR,
        message: format!(
            "Parse error: the request body is not JSON ({e}); send one JSON-RPC 2.0 message as a JSON object"
        ),
        id: Value::Null,
    })?;
    let invalid = |message: String, id: Value| Rejection {
        code: INVALID_REQUEST,
        message: format!("Invalid Request: {message}"),
        id,
    };
    let obj = match &value {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Err(invalid(
                "a JSON-RPC batch (an array); MCP takes one message per request since protocol 2025-06-18: send them one at a time".into(),
                Value::Null,
            ));
        }
        other => {
            return Err(invalid(
                format!(
                    "expected a JSON-RPC 2.0 message (a JSON object), got {}",
                    kind(other)
                ),
                Value::Null,
            ));
        }
    };
    let id = match obj.get("id") {
        None => Value::Null,
        Some(id @ (Value::String(_) | Value::Number(_))) => id.clone(),
        Some(other) => {
            return Err(invalid(
                format!("\"id\" must be a string or a number, not {}", kind(other)),
                Value::Null,
            ));
        }
    };
    if obj.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(invalid("\"jsonrpc\" must be \"2.0\"".into(), id));
    }
    let method = obj.get("method").and_then(Value::as_str).map(str::to_owned);
    serde_json::from_value::<ClientJsonRpcMessage>(value).map_err(|e| match method {
        Some(m) => Rejection {
            code: INVALID_PARAMS,
            message: format!("Invalid params for {m:?}: {e}"),
            id,
        },
        None => invalid(
            format!("neither a request (\"method\") nor a response (\"result\" or \"error\"): {e}"),
            id,
        ),
    })
}

type Check = fn(Value) -> Result<(), serde_json::Error>;

fn check<T: DeserializeOwned>(request: Value) -> Result<(), serde_json::Error> {
    serde_json::from_value::<T>(request).map(drop)
}

/// The standard methods a session answers, each with its request type.
/// Not initialize and logging/setLevel: protocol 2026-07-28 has neither,
/// and wants "method not found" (HTTP 404) for them.
const KNOWN: &[(&str, Check)] = &[
    (m::PingRequestMethod::VALUE, check::<m::PingRequest>),
    (
        m::ListToolsRequestMethod::VALUE,
        check::<m::ListToolsRequest>,
    ),
    (m::CallToolRequestMethod::VALUE, check::<m::CallToolRequest>),
    (
        m::ListResourcesRequestMethod::VALUE,
        check::<m::ListResourcesRequest>,
    ),
    (
        m::ListResourceTemplatesRequestMethod::VALUE,
        check::<m::ListResourceTemplatesRequest>,
    ),
    (
        m::ReadResourceRequestMethod::VALUE,
        check::<m::ReadResourceRequest>,
    ),
    (
        m::ListPromptsRequestMethod::VALUE,
        check::<m::ListPromptsRequest>,
    ),
    (
        m::GetPromptRequestMethod::VALUE,
        check::<m::GetPromptRequest>,
    ),
    (m::CompleteRequestMethod::VALUE, check::<m::CompleteRequest>),
];

/// The error for a request rmcp kept as a custom one.
pub fn unmatched(method: &str, params: Option<Value>) -> ErrorData {
    let Some((_, check)) = KNOWN.iter().find(|(name, _)| *name == method) else {
        let known: Vec<&str> = KNOWN.iter().map(|(name, _)| *name).collect();
        return ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!(
                "Method not found: {method:?}; this server answers {}",
                known.join(", ")
            ),
            None,
        );
    };
    let mut request = json!({"method": method});
    if let Some(p) = params {
        request["params"] = p;
    }
    let why = match check(request) {
        Err(e) => e.to_string(),
        // Parsed alone but not in the envelope: nothing more precise to say.
        Ok(()) => "they do not match the method's schema".into(),
    };
    ErrorData::new(
        ErrorCode::INVALID_PARAMS,
        format!("Invalid params for {method:?}: {why}"),
        None,
    )
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_body_gets_its_code_and_a_reason() {
        let cases: &[(&str, i64, &str, Value)] = &[
            ("{not json", PARSE_ERROR, "not JSON", Value::Null),
            ("", PARSE_ERROR, "not JSON", Value::Null),
            (
                r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                INVALID_REQUEST,
                "batch",
                Value::Null,
            ),
            ("42", INVALID_REQUEST, "got a number", Value::Null),
            (
                r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
                INVALID_REQUEST,
                "\"id\" must be",
                Value::Null,
            ),
            (
                r#"{"jsonrpc":"1.0","id":7,"method":"ping"}"#,
                INVALID_REQUEST,
                "\"jsonrpc\" must be \"2.0\"",
                json!(7),
            ),
            (
                r#"{"jsonrpc":"2.0","id":"a"}"#,
                INVALID_REQUEST,
                "neither a request",
                json!("a"),
            ),
        ];
        for (body, code, says, id) in cases {
            let r = parse(body.as_bytes()).expect_err(body);
            assert_eq!(r.code, *code, "{body}: {r:?}");
            assert!(r.message.contains(says), "{body}: {}", r.message);
            assert_eq!(&r.id, id, "{body}");
            assert_eq!(r.body()["error"]["code"], json!(code));
        }
    }

    #[test]
    fn unmatched_requests_say_bad_params_or_unknown_method() {
        let cases: &[(&str, Option<Value>, ErrorCode, &str)] = &[
            (
                "tools/call",
                Some(json!({"name": 5})),
                ErrorCode::INVALID_PARAMS,
                "invalid type",
            ),
            (
                "prompts/get",
                Some(json!({"name": ["x"]})),
                ErrorCode::INVALID_PARAMS,
                "\"prompts/get\"",
            ),
            // Not methods of protocol 2026-07-28: "not found", whatever the params.
            (
                "initialize",
                Some(json!({"protocolVersion": 5})),
                ErrorCode::METHOD_NOT_FOUND,
                "\"initialize\"",
            ),
            (
                "logging/setLevel",
                None,
                ErrorCode::METHOD_NOT_FOUND,
                "\"logging/setLevel\"",
            ),
            ("tools/call", None, ErrorCode::INVALID_PARAMS, "params"),
            (
                "no/such/method",
                None,
                ErrorCode::METHOD_NOT_FOUND,
                "this server answers ping, tools/list, tools/call",
            ),
        ];
        for (method, params, code, says) in cases {
            let e = unmatched(method, params.clone());
            assert_eq!(e.code, *code, "{method}: {e:?}");
            assert!(e.message.contains(says), "{method}: {}", e.message);
        }
    }

    #[test]
    fn bad_params_of_a_standard_method_parse_as_custom() {
        // Why unmatched() exists: rmcp keeps them, and says -32601 by default.
        let body = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":5}}"#;
        assert!(matches!(
            parse(body.as_bytes()),
            Ok(ClientJsonRpcMessage::Request(m::JsonRpcRequest {
                request: m::ClientRequest::CustomRequest(_),
                ..
            }))
        ));
    }

    #[test]
    fn messages_and_unknown_methods_pass() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"no/such/method","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"kubectl_get","arguments":{}}}"#,
        ] {
            assert!(parse(body.as_bytes()).is_ok(), "{body}");
        }
    }
}
