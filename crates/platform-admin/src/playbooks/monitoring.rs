//! What playbook steps ask of the platform's monitoring: one instant
//! query of Prometheus (`check`, `wait_until`) and the silences of
//! Alertmanager (`silence.create`), each within a timeout and a size cap.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// The longest one request to Prometheus or Alertmanager may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer read; a larger one is refused, not read on.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|err| format!("cannot make an HTTP client: {err}"))
}

/// The body of a response, at most `MAX_ANSWER_BYTES`.
async fn capped(mut response: reqwest::Response, what: &str) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| format!("{what} broke off its answer: {err}"))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "{what} answered more than {MAX_ANSWER_BYTES} bytes; refused"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The one value of an instant query now; why not, in words, when it
/// cannot be evaluated (Prometheus unreachable or refusing the query, no
/// series, several series, NaN).
pub async fn instant(prometheus: Option<&url::Url>, query: &str) -> Result<f64, String> {
    let Some(base) = prometheus else {
        return Err(
            "no Prometheus is configured on the server ([monitoring] prometheus_url)".into(),
        );
    };
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|_| format!("{base} cannot take a path"))?
        .pop_if_empty()
        .extend(["api", "v1", "query"]);
    let response = client()?
        .get(url)
        .query(&[("query", query)])
        .send()
        .await
        .map_err(|err| format!("Prometheus at {base} did not answer: {err}"))?;
    let status = response.status();
    let body = capped(response, "Prometheus").await?;
    let answer: Value = serde_json::from_slice(&body)
        .map_err(|_| format!("Prometheus answered {status} with something that is not JSON"))?;
    if answer["status"] != "success" {
        let error = answer["error"].as_str().unwrap_or("no reason given");
        return Err(format!("Prometheus refused the query: {error}"));
    }
    let data = &answer["data"];
    let sample = match data["resultType"].as_str() {
        Some("scalar") => &data["result"],
        Some("vector") => {
            let series = data["result"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            match series {
                [] => return Err("the query returned no series".into()),
                [one] => &one["value"],
                many => {
                    return Err(format!(
                        "the query returned {} series; a check needs exactly one (aggregate it)",
                        many.len()
                    ))
                }
            }
        }
        other => {
            return Err(format!(
                "the query returned a {}, not a single value",
                other.unwrap_or("result of no type")
            ))
        }
    };
    let value = sample[1]
        .as_str()
        .and_then(|text| text.parse::<f64>().ok())
        .ok_or("Prometheus sent a value that is not a number")?;
    if value.is_nan() {
        return Err("the query's value is NaN".into());
    }
    Ok(value)
}

/// An active (or pending) silence whose comment carries `marker`: the one a
/// step made before platform-admin stopped.
pub async fn find_silence(alertmanager: &url::Url, marker: &str) -> Result<Option<String>, String> {
    let url = api(alertmanager, &["api", "v2", "silences"])?;
    let response = client()?
        .get(url)
        .send()
        .await
        .map_err(|err| format!("Alertmanager at {alertmanager} did not answer: {err}"))?;
    let status = response.status();
    let body = capped(response, "Alertmanager").await?;
    if !status.is_success() {
        return Err(format!(
            "Alertmanager answered {status} to a list of silences"
        ));
    }
    let silences: Value = serde_json::from_slice(&body)
        .map_err(|_| "Alertmanager's silences are not JSON".to_string())?;
    Ok(silences.as_array().and_then(|all| {
        all.iter()
            .find(|s| {
                s["comment"].as_str().is_some_and(|c| c.contains(marker))
                    && matches!(s["status"]["state"].as_str(), Some("active" | "pending"))
            })
            .and_then(|s| s["id"].as_str().map(str::to_string))
    }))
}

/// One matcher as Alertmanager takes it, from `name="value"`,
/// `name!="value"`, `name=~"regex"` or `name!~"regex"`.
pub fn matcher(text: &str) -> Result<Value, String> {
    let text = text.trim();
    let (name, is_equal, is_regex, value) = [
        ("!~", false, true),
        ("=~", true, true),
        ("!=", false, false),
        ("=", true, false),
    ]
    .iter()
    .find_map(|(op, eq, re)| {
        text.split_once(op)
            .map(|(name, value)| (name.trim(), *eq, *re, value.trim()))
    })
    .ok_or_else(|| format!("`{text}` is not a matcher (name=\"value\")"))?;
    if name.is_empty() {
        return Err(format!("`{text}` names no label"));
    }
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    Ok(json!({ "name": name, "value": value, "isRegex": is_regex, "isEqual": is_equal }))
}

/// Makes a silence; its id.
pub async fn create_silence(
    alertmanager: &url::Url,
    matchers: &[Value],
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    created_by: &str,
    comment: &str,
) -> Result<String, String> {
    let url = api(alertmanager, &["api", "v2", "silences"])?;
    let body = json!({
        "matchers": matchers,
        "startsAt": starts.to_rfc3339(),
        "endsAt": ends.to_rfc3339(),
        "createdBy": created_by,
        "comment": comment,
    });
    let response = client()?
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|err| format!("Alertmanager at {alertmanager} did not answer: {err}"))?;
    let status = response.status();
    let answer = capped(response, "Alertmanager").await?;
    if !status.is_success() {
        let said = String::from_utf8_lossy(&answer[..answer.len().min(300)]).into_owned();
        return Err(format!(
            "Alertmanager refused the silence ({status}): {}",
            said.trim()
        ));
    }
    let answer: Value = serde_json::from_slice(&answer)
        .map_err(|_| "Alertmanager's answer is not JSON".to_string())?;
    answer["silenceID"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "Alertmanager's answer names no silence".into())
}

fn api(base: &url::Url, segments: &[&str]) -> Result<url::Url, String> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|_| format!("{base} cannot take a path"))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_are_read_with_their_operator() {
        assert_eq!(
            matcher(r#"alertname="Down""#).ok(),
            Some(json!({"name": "alertname", "value": "Down", "isRegex": false, "isEqual": true}))
        );
        assert_eq!(
            matcher(r#"job=~"pg.*""#).ok(),
            Some(json!({"name": "job", "value": "pg.*", "isRegex": true, "isEqual": true}))
        );
        assert_eq!(
            matcher(r#"env!="prod""#).ok(),
            Some(json!({"name": "env", "value": "prod", "isRegex": false, "isEqual": false}))
        );
        assert!(matcher("nothing").is_err());
        assert!(matcher(r#"="x""#).is_err());
    }
}
