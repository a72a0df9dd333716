//! The question a confirmation asks and how an answer is read: the same
//! for a 2025-11-25 elicitation and a 2026-07-28 input request.

use rmcp::model::{ElicitRequestParams, ElicitResult, ElicitationAction, InputResponses};
use serde::Deserialize;
use serde_json::json;

/// The input request's key and the form's one field.
pub const KEY: &str = "confirm";

/// The form: one required boolean, and a message stating the call.
pub fn question(statement: &str, note: Option<&str>) -> Result<ElicitRequestParams, String> {
    let schema = serde_json::from_value(json!({
        "type": "object",
        "properties": {KEY: {
            "type": "boolean",
            "title": "Go ahead",
            "description": "true runs the call; false, or no answer, leaves the cluster as it is",
            "default": false,
        }},
        "required": [KEY],
    }))
    .map_err(|e| format!("cannot build the confirmation form: {e}"))?;
    let note = note.map(|n| format!(" ({n})")).unwrap_or_default();
    Ok(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: format!("kube-mcp-server will {statement}{note}. Go ahead?"),
        requested_schema: schema,
    })
}

/// What the user said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Yes,
    /// Not yes, and how: declined, cancelled, or accepted without a yes.
    No(&'static str),
}

pub fn read(r: &ElicitResult) -> Answer {
    match r.action {
        ElicitationAction::Accept => {
            let yes = r
                .content
                .as_ref()
                .and_then(|c| c.get(KEY))
                .and_then(|v| v.as_bool())
                == Some(true);
            if yes {
                Answer::Yes
            } else {
                Answer::No("the answer was not yes")
            }
        }
        ElicitationAction::Decline => Answer::No("the user declined"),
        ElicitationAction::Cancel => Answer::No("the user cancelled"),
        #[allow(unreachable_patterns)]
        _ => Answer::No("the answer was not yes"),
    }
}

/// What a 2026-07-28 retry brought for the confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Responses {
    /// No answer under [`KEY`]: ask again.
    Missing,
    /// Something under [`KEY`] that is no elicitation result.
    Malformed(String),
    Given(Answer),
}

/// Reads the answer under [`KEY`]; other keys are ignored.
pub fn from_responses(r: Option<&InputResponses>) -> Responses {
    let Some(v) = r.and_then(|r| r.get(KEY)) else {
        return Responses::Missing;
    };
    match ElicitResult::deserialize(v) {
        Ok(result) => Responses::Given(read(&result)),
        Err(e) => Responses::Malformed(format!(
            "inputResponses.{KEY} is not an elicitation result ({e}); answer the input request {KEY} with {{\"action\": \"accept\", \"content\": {{\"{KEY}\": true}}}} or decline it"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn responses(v: Value) -> Responses {
        let map: InputResponses = serde_json::from_value(v).unwrap();
        from_responses(Some(&map))
    }

    #[test]
    fn answers_table() {
        let cases = [
            (
                json!({"confirm": {"action": "accept", "content": {"confirm": true}}}),
                Responses::Given(Answer::Yes),
            ),
            (
                json!({"confirm": {"action": "accept", "content": {"confirm": false}}}),
                Responses::Given(Answer::No("the answer was not yes")),
            ),
            (
                json!({"confirm": {"action": "accept", "content": {"confirm": "true"}}}),
                Responses::Given(Answer::No("the answer was not yes")),
            ),
            (
                json!({"confirm": {"action": "accept"}}),
                Responses::Given(Answer::No("the answer was not yes")),
            ),
            (
                json!({"confirm": {"action": "decline"}}),
                Responses::Given(Answer::No("the user declined")),
            ),
            (
                json!({"confirm": {"action": "cancel"}}),
                Responses::Given(Answer::No("the user cancelled")),
            ),
            (
                json!({"other": {"action": "accept", "content": {"confirm": true}}}),
                Responses::Missing,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(responses(input.clone()), want, "{input}");
        }
        assert_eq!(from_responses(None), Responses::Missing);
        assert!(matches!(
            responses(json!({"confirm": 12345})),
            Responses::Malformed(m) if m.contains("inputResponses.confirm")
        ));
        // Extra keys next to a yes are ignored.
        assert_eq!(
            responses(json!({
                "confirm": {"action": "accept", "content": {"confirm": true}},
                "extra": {"action": "accept", "content": {"x": 1}},
            })),
            Responses::Given(Answer::Yes)
        );
    }

    #[test]
    fn the_question_states_the_call() {
        let q = serde_json::to_value(question("delete pod web in team-a", None).unwrap()).unwrap();
        assert_eq!(q["mode"], "form");
        assert_eq!(
            q["message"],
            "kube-mcp-server will delete pod web in team-a. Go ahead?"
        );
        assert_eq!(q["requestedSchema"]["required"], json!(["confirm"]));
        assert_eq!(
            q["requestedSchema"]["properties"]["confirm"]["type"],
            "boolean"
        );
    }
}
