//! Google batch requests: many Directory API GETs in one HTTP request.
//!
//! Sent to `{admin}/batch`, the `batchPath` of the Directory API's discovery document (Google's
//! guide: a batch "can be sent to the batchPath specified in the API discovery document"), as
//! `multipart/mixed`: one `application/http` part per GET with a `Content-ID: <item{n}>`.
//! Google answers `multipart/mixed` again (boundary in its `Content-Type`), one
//! `application/http` part per request with `Content-ID: <response-item{n}>`, each an HTTP
//! response: status line, headers, JSON body. Google counts each inner request against the
//! quota, so each part waits for its share of the pacing.
//!
//! The answer is untrusted: it is read up to [`MAX_ANSWER`] bytes, and anything malformed (no
//! boundary, no closing delimiter, a part that is not an HTTP response, an unknown or repeated
//! `Content-ID`, a missing part) is a [`DirectoryError::GoogleInvalidResponse`], never a panic.
//! Lines may end in CRLF (as Google sends them) or LF alone.
//!
//! Why a parser of its own: the multipart crates (`multer`, `mime_multipart`…) are built for
//! `multipart/form-data` uploads and insist on CRLF; here the split is a few lines and each
//! part's status line and headers go through `httparse` (hyper's parser), which also takes LF.
//!
//! Retries, as for one GET (`api.rs`): a part throttled (403 `userRateLimitExceeded` /
//! `quotaExceeded`, 429) or answered 5xx — or a whole batch that is, or that could not be sent
//! — is sent again in the next batch after the jittered backoff, within the [`GoogleRetry`]
//! budget of the whole call; a 401 refreshes the access token once and sends the parts again;
//! any other part error is that part's answer (a 404 means the group is gone).
//!
//! [`GoogleRetry`]: super::config::GoogleRetry

use std::collections::HashMap;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use rand::distributions::Alphanumeric;
use rand::Rng;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;

use super::api::{api_error, backoff, classify, is_retried, network_error, record_request, Inner};
use super::config::RefreshToken;
use crate::directory::DirectoryError;

/// Google's limit of calls in one batch.
pub(crate) const MAX_PARTS: usize = 1000;
/// Largest batch answer read (50 full pages of members are about 1 MiB).
pub(crate) const MAX_ANSWER: usize = 32 * 1024 * 1024;
/// Headers of a part, or of its HTTP response, at most.
const MAX_HEADERS: usize = 32;

/// One part of a batch answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartAnswer {
    /// The part's `Content-ID` without its angle brackets (`response-item3`).
    pub content_id: Option<String>,
    pub status: StatusCode,
    pub body: Vec<u8>,
}

fn invalid(why: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::GoogleInvalidResponse {
        reason: format!("a batch answer could not be read ({why})."),
    }
}

/// A fresh boundary: 32 random letters and digits, which no URL path of ours contains.
pub(crate) fn new_boundary() -> String {
    let random: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("roster_batch_{random}")
}

/// The `Content-ID` of request `n`.
pub(crate) fn item_id(n: usize) -> String {
    format!("item{n}")
}

/// The body of a batch of GETs: `(Content-ID, URL)`; each part asks for the URL's path and
/// query (same host as the batch).
pub(crate) fn request_body(boundary: &str, requests: &[(String, &Url)]) -> String {
    let mut out = String::new();
    for (id, url) in requests {
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <{id}>\r\n\r\nGET {target} HTTP/1.1\r\n\r\n\r\n"
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

/// The boundary of a `multipart/mixed` content type (RFC 2046: 1 to 70 characters).
pub(crate) fn boundary_of(content_type: &str) -> Result<String, DirectoryError> {
    let parsed: mime::Mime = content_type
        .parse()
        .map_err(|_| invalid("its content type is malformed"))?;
    if parsed.type_() != mime::MULTIPART || parsed.subtype().as_str() != "mixed" {
        return Err(invalid(format_args!(
            "it is {}, not multipart/mixed",
            parsed.essence_str()
        )));
    }
    let boundary = parsed
        .get_param(mime::BOUNDARY)
        .map(|b| b.as_str().to_string())
        .ok_or_else(|| invalid("its content type has no boundary"))?;
    if boundary.is_empty() || boundary.len() > 70 || boundary.bytes().any(|b| b.is_ascii_control())
    {
        return Err(invalid("its boundary is malformed"));
    }
    Ok(boundary)
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Where each delimiter line starts and where its line ends (`None` for the closing one).
/// A delimiter is `--boundary` at the start of a line, followed by optional spaces and the
/// line's end; `--boundary--` closes. Anything else that contains the boundary is content.
fn delimiters(body: &[u8], boundary: &str) -> Result<Vec<(usize, Option<usize>)>, DirectoryError> {
    let dash = format!("--{boundary}");
    let dash = dash.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(body, dash, from) {
        from = at + dash.len();
        let line_start = at == 0 || body.get(at - 1) == Some(&b'\n');
        if !line_start {
            continue;
        }
        let rest = body.get(from..).unwrap_or_default();
        if rest.starts_with(b"--") {
            found.push((at, None));
            return Ok(found);
        }
        let padding = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let after = rest.get(padding..).unwrap_or_default();
        let eol = if after.starts_with(b"\r\n") {
            2
        } else if after.starts_with(b"\n") {
            1
        } else {
            continue;
        };
        found.push((at, Some(from + padding + eol)));
    }
    Err(invalid("it ends before its closing delimiter"))
}

/// Splits a batch answer into its parts, at most `max_parts`.
pub(crate) fn parse_answer(
    body: &[u8],
    boundary: &str,
    max_parts: usize,
) -> Result<Vec<PartAnswer>, DirectoryError> {
    let found = delimiters(body, boundary)?;
    let mut parts = Vec::new();
    for pair in found.windows(2) {
        let [(_, Some(start)), (next, _)] = pair else {
            return Err(invalid("a part follows the closing delimiter"));
        };
        // The line break before a delimiter belongs to the delimiter.
        let mut end = *next;
        if end > *start && body.get(end - 1) == Some(&b'\n') {
            end -= 1;
            if end > *start && body.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
        }
        if parts.len() == max_parts {
            return Err(invalid(format_args!("it has more than {max_parts} parts")));
        }
        parts.push(part(body.get(*start..end).unwrap_or_default())?);
    }
    Ok(parts)
}

/// One part: its headers, then an HTTP response.
fn part(raw: &[u8]) -> Result<PartAnswer, DirectoryError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let (offset, headers) = match httparse::parse_headers(raw, &mut headers) {
        Ok(httparse::Status::Complete(done)) => done,
        Ok(httparse::Status::Partial) => return Err(invalid("a part's headers are cut short")),
        Err(e) => return Err(invalid(format_args!("a part's headers: {e}"))),
    };
    let mut content_id = None;
    for h in headers.iter() {
        let value = std::str::from_utf8(h.value)
            .map_err(|_| invalid("a part's header is not text"))?
            .trim();
        if h.name.eq_ignore_ascii_case("content-type")
            && !value
                .get(..16)
                .is_some_and(|t| t.eq_ignore_ascii_case("application/http"))
        {
            return Err(invalid("a part is not application/http"));
        }
        if h.name.eq_ignore_ascii_case("content-id") {
            let id = value.trim_start_matches('<').trim_end_matches('>').trim();
            content_id = Some(id.to_string());
        }
    }
    let http = raw.get(offset..).unwrap_or_default();
    let mut inner_headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut inner_headers);
    let offset = match response.parse(http) {
        Ok(httparse::Status::Complete(offset)) => offset,
        Ok(httparse::Status::Partial) => {
            return Err(invalid("a part's HTTP response is cut short"))
        }
        Err(e) => return Err(invalid(format_args!("a part is not an HTTP response: {e}"))),
    };
    let status = response
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| invalid("a part's status is malformed"))?;
    Ok(PartAnswer {
        content_id,
        status,
        body: http.get(offset..).unwrap_or_default().to_vec(),
    })
}

/// Pairs the parts with the requests of `ids` (same order): by `Content-ID`
/// (`response-{id}`), or by position when a part has none.
pub(crate) fn match_parts(
    ids: &[String],
    parts: Vec<PartAnswer>,
) -> Result<Vec<PartAnswer>, DirectoryError> {
    if parts.len() != ids.len() {
        return Err(invalid(format_args!(
            "{} parts answer {} requests",
            parts.len(),
            ids.len()
        )));
    }
    let position: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut slots: Vec<Option<PartAnswer>> = ids.iter().map(|_| None).collect();
    for (i, part) in parts.into_iter().enumerate() {
        let at = match part.content_id.as_deref() {
            Some(id) => {
                let id = id.strip_prefix("response-").unwrap_or(id);
                *position
                    .get(id)
                    .ok_or_else(|| invalid("a part answers no request of the batch"))?
            }
            None => i,
        };
        let slot = slots
            .get_mut(at)
            .ok_or_else(|| invalid("a part answers no request of the batch"))?;
        if slot.is_some() {
            return Err(invalid("two parts answer the same request"));
        }
        *slot = Some(part);
    }
    slots
        .into_iter()
        .map(|s| s.ok_or_else(|| invalid("a request of the batch has no answer")))
        .collect()
}

/// What sending one batch came to.
enum Sent {
    /// One answer per request, in request order.
    Parts(Vec<PartAnswer>),
    /// The batch itself was refused with 401.
    Unauthorized(DirectoryError),
    /// The batch was throttled, answered 5xx or could not be sent: all of it again.
    Retry(DirectoryError),
}

impl Inner {
    /// GETs every URL through batch requests (at most [`GoogleConfig::member_batch`] parts
    /// each, a few batches at a time) and decodes each JSON answer; retries as the policy
    /// allows. The answers come in the order of `urls`: each the decoded page or the error
    /// Google answered for it (a 404, a 403 `forbidden`…). Fails as a whole when the budget
    /// runs out, a token cannot be had, or an answer is malformed.
    ///
    /// [`GoogleConfig::member_batch`]: super::config::GoogleConfig::member_batch
    pub(crate) async fn get_json_batch<T: DeserializeOwned>(
        &self,
        refresh: &RefreshToken,
        urls: &[Url],
    ) -> Result<Vec<Result<T, DirectoryError>>, DirectoryError> {
        let policy = self.config.retry;
        let per_batch = self.config.member_batch.clamp(1, MAX_PARTS);
        let concurrency = self.config.member_concurrency.max(1);
        let mut results: Vec<Option<Result<T, DirectoryError>>> =
            urls.iter().map(|_| None).collect();
        let mut pending: Vec<usize> = (0..urls.len()).collect();
        let mut token = self.tokens.token(self, refresh).await?;
        let mut refreshed = false;
        let mut retries = 0u32;
        let mut waited = Duration::ZERO;
        while !pending.is_empty() {
            // The futures are made first: a stream mapping closure that borrows `self` and
            // `urls` would make the round's future not `Send` for every lifetime.
            let sends: Vec<_> = pending
                .chunks(per_batch)
                .map(|chunk| self.send_batch(token.secret(), urls, chunk))
                .collect();
            let sent: Vec<Sent> = stream::iter(sends)
                .buffered(concurrency)
                .collect::<Vec<Result<Sent, DirectoryError>>>()
                .await
                .into_iter()
                .collect::<Result<_, _>>()?;
            let mut again = Vec::new();
            let mut unauthorized = false;
            let mut trouble: Option<DirectoryError> = None;
            for (chunk, sent) in pending.chunks(per_batch).zip(sent) {
                let parts = match sent {
                    Sent::Parts(parts) => parts,
                    Sent::Unauthorized(_) if !refreshed => {
                        unauthorized = true;
                        again.extend_from_slice(chunk);
                        continue;
                    }
                    Sent::Unauthorized(error) => return Err(error),
                    Sent::Retry(error) => {
                        again.extend_from_slice(chunk);
                        trouble = Some(error);
                        continue;
                    }
                };
                for (&i, part) in chunk.iter().zip(parts) {
                    if part.status.is_success() {
                        let page = serde_json::from_slice(&part.body).map_err(|e| {
                            tracing::warn!(error = %e, "Directory API answer in a batch not understood");
                            DirectoryError::GoogleInvalidResponse {
                                reason: format!("a Directory API page could not be read ({e})."),
                            }
                        })?;
                        if let Some(slot) = results.get_mut(i) {
                            *slot = Some(Ok(page));
                        }
                        continue;
                    }
                    if part.status == StatusCode::UNAUTHORIZED && !refreshed {
                        unauthorized = true;
                        again.push(i);
                        continue;
                    }
                    let error = classify(api_error(part.status, &part.body));
                    if matches!(error, DirectoryError::GoogleThrottled(_)) {
                        metrics::counter!("roster_google_throttled_total").increment(1);
                    }
                    if is_retried(&error) {
                        again.push(i);
                        trouble = Some(error);
                    } else if let Some(slot) = results.get_mut(i) {
                        *slot = Some(Err(error));
                    }
                }
            }
            again.sort_unstable();
            pending = again;
            if pending.is_empty() {
                break;
            }
            if unauthorized {
                tracing::info!("Directory API refused the access token in a batch; refreshing it");
                refreshed = true;
                token = self.tokens.refresh(self, refresh, &token).await?;
            }
            let Some(error) = trouble else {
                // Only the token was refused: again at once with the new one.
                continue;
            };
            let wait = backoff(&policy, retries);
            if retries >= policy.max_retries || waited + wait > policy.max_total_wait {
                tracing::warn!(
                    retries,
                    waited_ms = waited.as_millis() as u64,
                    left = pending.len(),
                    detail = ?error.google(),
                    "Directory API batch given up"
                );
                return Err(error);
            }
            retries += 1;
            waited += wait;
            tracing::debug!(retry = retries, parts = pending.len(), wait_ms = wait.as_millis() as u64,
                reason = %error, "waiting before sending batch parts again");
            tokio::time::sleep(wait).await;
        }
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| invalid("a request of the batch has no answer")))
            .collect()
    }

    /// Sends the requests `chunk` (indices into `urls`) as one batch.
    async fn send_batch(
        &self,
        token: &str,
        urls: &[Url],
        chunk: &[usize],
    ) -> Result<Sent, DirectoryError> {
        let ids: Vec<String> = chunk.iter().map(|&i| item_id(i)).collect();
        let requests: Vec<(String, &Url)> = chunk
            .iter()
            .zip(&ids)
            .filter_map(|(&i, id)| urls.get(i).map(|url| (id.clone(), url)))
            .collect();
        let boundary = new_boundary();
        let body = request_body(&boundary, &requests);
        // Google counts each inner request against the quota.
        for _ in chunk {
            self.paced().await;
        }
        let url = self.batch_url();
        let sent = self
            .http
            .post(url.clone())
            .bearer_auth(token)
            .header(ACCEPT, "multipart/mixed")
            .header(
                CONTENT_TYPE,
                format!("multipart/mixed; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await;
        record_request(&sent);
        let mut response = match sent {
            Err(e) => return Ok(Sent::Retry(network_error(&self.admin_host, &e))),
            Ok(response) => response,
        };
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            let error = classify(api_error(status, &body));
            if status == StatusCode::UNAUTHORIZED {
                return Ok(Sent::Unauthorized(error));
            }
            if matches!(error, DirectoryError::GoogleThrottled(_)) {
                metrics::counter!("roster_google_throttled_total").increment(1);
            }
            if is_retried(&error) {
                return Ok(Sent::Retry(error));
            }
            tracing::warn!(path = url.path(), detail = ?error.google(), "Directory API batch refused");
            return Err(error);
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let boundary = boundary_of(&content_type)?;
        if response
            .content_length()
            .is_some_and(|l| l > MAX_ANSWER as u64)
        {
            return Err(invalid("it is too large"));
        }
        let mut answer = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    if answer.len() + bytes.len() > MAX_ANSWER {
                        return Err(invalid("it is too large"));
                    }
                    answer.extend_from_slice(&bytes);
                }
                Ok(None) => break,
                Err(e) => return Ok(Sent::Retry(network_error(&self.admin_host, &e))),
            }
        }
        let parts = parse_answer(&answer, &boundary, ids.len())?;
        match_parts(&ids, parts).map(Sent::Parts)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn url(path: &str) -> Url {
        Url::parse(&format!("https://admin.googleapis.com{path}")).unwrap()
    }

    #[test]
    fn a_batch_of_gets_is_one_part_each_with_its_content_id() {
        let a = url("/admin/directory/v1/groups/g1/members?maxResults=200&fields=nextPageToken%2Cmembers%28id%2Cemail%2Ctype%29");
        let b = url("/admin/directory/v1/groups/g2/members");
        let body = request_body("b0", &[(item_id(0), &a), (item_id(7), &b)]);
        assert_eq!(
            body,
            "--b0\r\nContent-Type: application/http\r\nContent-ID: <item0>\r\n\r\n\
             GET /admin/directory/v1/groups/g1/members?maxResults=200&fields=nextPageToken%2Cmembers%28id%2Cemail%2Ctype%29 HTTP/1.1\r\n\r\n\r\n\
             --b0\r\nContent-Type: application/http\r\nContent-ID: <item7>\r\n\r\n\
             GET /admin/directory/v1/groups/g2/members HTTP/1.1\r\n\r\n\r\n\
             --b0--\r\n"
        );
        let one = new_boundary();
        assert!(one.starts_with("roster_batch_") && one.len() == 45);
        assert_ne!(one, new_boundary());
        // What we send, we read back (the emulator and Google parse it the same way).
        assert_eq!(
            boundary_of(&format!("multipart/mixed; boundary={one}")).unwrap(),
            one
        );
    }

    #[test]
    fn the_boundary_comes_from_the_content_type() {
        assert_eq!(
            boundary_of("multipart/mixed; boundary=batch_abc").unwrap(),
            "batch_abc"
        );
        assert_eq!(
            boundary_of("Multipart/Mixed; charset=utf-8; boundary=\"batch abc\"").unwrap(),
            "batch abc"
        );
        for bad in [
            "",
            "application/json; charset=UTF-8",
            "multipart/mixed",
            "multipart/form-data; boundary=x",
            "multipart/mixed; boundary=\"\"",
            &format!("multipart/mixed; boundary={}", "x".repeat(71)),
            "not a content type",
        ] {
            assert!(
                matches!(
                    boundary_of(bad),
                    Err(DirectoryError::GoogleInvalidResponse { .. })
                ),
                "{bad}"
            );
        }
    }

    /// Google's answer (shape of the Directory API guide), lines ending in `eol`.
    fn answer(eol: &str) -> String {
        [
            "--batch_Xy",
            "Content-Type: application/http",
            "Content-ID: <response-item1>",
            "",
            "HTTP/1.1 200 OK",
            "Content-Type: application/json; charset=UTF-8",
            "Content-Length: 60",
            "",
            r#"{"members":[{"id":"u1","type":"USER"}],"nextPageToken":"t2"}"#,
            "--batch_Xy",
            "Content-Type: application/http",
            "Content-ID: <response-item0>",
            "",
            "HTTP/1.1 404 Not Found",
            "Content-Type: application/json; charset=UTF-8",
            "",
            r#"{"error":{"errors":[{"domain":"global","reason":"notFound","message":"Resource Not Found: groupKey"}],"code":404,"message":"Resource Not Found: groupKey"}}"#,
            "--batch_Xy",
            "Content-Type: application/http",
            "Content-ID: <response-item2>",
            "",
            "HTTP/1.1 403 Forbidden",
            "",
            r#"{"error":{"errors":[{"domain":"usageLimits","reason":"userRateLimitExceeded","message":"User Rate Limit Exceeded"}],"code":403,"message":"User Rate Limit Exceeded"}}"#,
            "--batch_Xy--",
            "",
        ]
        .join(eol)
    }

    #[test]
    fn an_answer_splits_into_http_responses_with_crlf_or_lf() {
        for eol in ["\r\n", "\n"] {
            let raw = format!("preamble{eol}{}epilogue{eol}", answer(eol));
            let parts = parse_answer(raw.as_bytes(), "batch_Xy", 10).unwrap();
            assert_eq!(parts.len(), 3, "{eol:?}");
            assert_eq!(parts[0].content_id.as_deref(), Some("response-item1"));
            assert_eq!(parts[0].status, StatusCode::OK);
            assert_eq!(
                parts[0].body,
                br#"{"members":[{"id":"u1","type":"USER"}],"nextPageToken":"t2"}"#
            );
            assert_eq!(parts[1].status, StatusCode::NOT_FOUND);
            assert_eq!(parts[2].status, StatusCode::FORBIDDEN);
            // Matched to the requests by Content-ID, whatever their order.
            let ids = [item_id(0), item_id(1), item_id(2)];
            let matched = match_parts(&ids, parts).unwrap();
            let statuses: Vec<u16> = matched.iter().map(|p| p.status.as_u16()).collect();
            assert_eq!(statuses, [404, 200, 403]);
            let e = classify(api_error(matched[2].status, &matched[2].body));
            assert!(matches!(e, DirectoryError::GoogleThrottled(_)), "{e:?}");
            let page: crate::google::model::MembersPage =
                serde_json::from_slice(&matched[1].body).unwrap();
            assert_eq!(page.next_page_token.as_deref(), Some("t2"));
        }
        // Mixed line endings, padding after a delimiter, no Content-ID (by position).
        let raw = "--b \t\r\nContent-Type: application/http\n\nHTTP/1.1 200 OK\r\n\r\n{}\n--b--";
        let parts = parse_answer(raw.as_bytes(), "b", 1).unwrap();
        assert_eq!(parts[0].body, b"{}");
        let matched = match_parts(&[item_id(4)], parts).unwrap();
        assert_eq!(matched[0].status, StatusCode::OK);
        // The boundary inside a body, not at a line's start, is content.
        let raw = "--b\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{\"x\":\"--b\"}\r\n--b--\r\n";
        let parts = parse_answer(raw.as_bytes(), "b", 1).unwrap();
        assert_eq!(parts[0].body, br#"{"x":"--b"}"#);
    }

    #[test]
    fn a_malformed_answer_is_an_invalid_response_never_a_panic() {
        let good = answer("\r\n");
        let cut = &good[..good.len() / 2];
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("no delimiter", b"HTTP/1.1 200 OK\r\n\r\n{}".to_vec()),
            ("cut short", cut.as_bytes().to_vec()),
            ("no closing delimiter", b"--batch_Xy\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n".to_vec()),
            ("not http", b"--batch_Xy\r\n\r\nhello there\r\n--batch_Xy--".to_vec()),
            ("no status line", b"--batch_Xy\r\n\r\n\r\n--batch_Xy--".to_vec()),
            ("bad status", b"--batch_Xy\r\n\r\nHTTP/1.1 99x OK\r\n\r\n{}\r\n--batch_Xy--".to_vec()),
            ("headers cut", b"--batch_Xy\r\nContent-Type: application/http\r\n--batch_Xy--".to_vec()),
            ("not application/http", b"--batch_Xy\r\nContent-Type: text/plain\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n--batch_Xy--".to_vec()),
            ("binary", vec![0xff, 0xfe, 0, 1, 2, b'-', b'-']),
            ("too many parts", good.as_bytes().to_vec()),
            ("many headers", format!("--batch_Xy\r\n{}\r\nHTTP/1.1 200 OK\r\n\r\n{{}}\r\n--batch_Xy--", "X-A: b\r\n".repeat(40)).into_bytes()),
        ];
        for (what, raw) in cases {
            let max = if what == "too many parts" { 2 } else { 10 };
            assert!(
                matches!(
                    parse_answer(&raw, "batch_Xy", max),
                    Err(DirectoryError::GoogleInvalidResponse { .. })
                ),
                "{what}"
            );
        }
        // Parts that don't pair with the requests.
        let parts = || parse_answer(good.as_bytes(), "batch_Xy", 10).unwrap();
        let ids = |ns: &[usize]| ns.iter().map(|&n| item_id(n)).collect::<Vec<_>>();
        for (what, requests) in [
            ("one part too many", ids(&[0, 1])),
            ("one part too few", ids(&[0, 1, 2, 3])),
            ("unknown id", ids(&[0, 1, 5])),
        ] {
            assert!(
                matches!(
                    match_parts(&requests, parts()),
                    Err(DirectoryError::GoogleInvalidResponse { .. })
                ),
                "{what}"
            );
        }
        let mut twice = parts();
        twice[2].content_id = Some("response-item1".into());
        assert!(match_parts(&ids(&[0, 1, 2]), twice).is_err());
        // Arbitrary bytes never panic.
        let mut seed = 7u64;
        for len in 0..400 {
            let noise: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    b"-\r\nHTP/1.0 2b:x_Xy"[(seed >> 60) as usize % 18]
                })
                .collect();
            let _ = parse_answer(&noise, "b", 5);
            let _ = parse_answer(&noise, "batch_Xy", 5);
        }
    }
}
