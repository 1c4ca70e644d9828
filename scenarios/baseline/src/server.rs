//! A small Open Inference Protocol (KServe v2) HTTP/1.1 server for one model: a thread per
//! keep-alive connection, which is all a latency-bound single model needs.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::data::flatten_into;
use crate::model::Model;

/// Requests larger than this are refused: one row of features is a few hundred bytes.
const MAX_BODY: usize = 1 << 20;
const MAX_HEADERS: usize = 32;
const MAX_CONNECTIONS: usize = 256;

/// How the server behaves beyond the protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Waits this long before every inference answer (to see how an over-budget run looks).
    pub delay: Duration,
}

/// Serves `model` on `listener` until the process is stopped.
pub fn serve(listener: TcpListener, model: Model, options: ServeOptions) -> std::io::Result<()> {
    let model = Arc::new(model);
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let (model, open) = (Arc::clone(&model), Arc::clone(&open));
        std::thread::spawn(move || {
            // A broken connection ends only itself.
            let _ = connection(stream, &model, options);
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

/// One answer: status, JSON body.
type Reply = (u16, Value);

fn connection(mut stream: TcpStream, model: &Model, options: ServeOptions) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buffer = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        // Read until the head of a request is complete.
        let (head_len, method, path, body_len, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(&buffer) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let header = |name: &str| {
                        request
                            .headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case(name))
                            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
                    };
                    let length = header("content-length").map_or(Ok(0), |v| v.parse::<usize>());
                    let close = header("connection").is_some_and(|v| v == "close");
                    let method = request.method.unwrap_or("").to_owned();
                    let path = request.path.unwrap_or("").to_owned();
                    match length {
                        Ok(length) if length <= MAX_BODY => {
                            break (head_len, method, path, length, close);
                        }
                        Ok(_) => {
                            return respond(
                                &mut stream,
                                (413, error("the request body is too large")),
                                true,
                            );
                        }
                        Err(_) => {
                            return respond(&mut stream, (400, error("bad Content-Length")), true);
                        }
                    }
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => {
                    return respond(
                        &mut stream,
                        (400, error(&format!("bad request: {e}"))),
                        true,
                    );
                }
            }
            if buffer.len() > 64 * 1024 {
                return respond(
                    &mut stream,
                    (431, error("the request head is too large")),
                    true,
                );
            }
            let read = stream.read(&mut chunk)?;
            if read == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..read]);
        };
        while buffer.len() < head_len + body_len {
            let read = stream.read(&mut chunk)?;
            if read == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
        let reply = route(
            model,
            &method,
            &path,
            &buffer[head_len..head_len + body_len],
            options,
        );
        buffer.drain(..head_len + body_len);
        respond(&mut stream, reply, close)?;
        if close {
            return Ok(());
        }
    }
}

fn respond(stream: &mut TcpStream, (status, body): Reply, close: bool) -> std::io::Result<()> {
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let connection = if close { "close" } else { "keep-alive" };
    let mut message = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    message.extend_from_slice(body.as_bytes());
    stream.write_all(&message)
}

fn error(message: &str) -> Value {
    json!({ "error": message })
}

/// The protocol's routes for the one model.
pub fn route(model: &Model, method: &str, path: &str, body: &[u8], options: ServeOptions) -> Reply {
    let path = path.split('?').next().unwrap_or(path);
    let model_path = format!("/v2/models/{}", model.model_name);
    match (method, path) {
        ("GET", "/v2/health/ready" | "/v2/health/live") => (200, json!({})),
        ("GET", "/v2") => (
            200,
            json!({ "name": "jiebang-baseline", "version": env!("CARGO_PKG_VERSION"), "extensions": [] }),
        ),
        ("GET", p) if p == model_path => (200, metadata(model)),
        ("GET", p) if p == format!("{model_path}/ready") => (200, json!({})),
        ("POST", p) if p == format!("{model_path}/infer") => {
            if !options.delay.is_zero() {
                std::thread::sleep(options.delay);
            }
            infer(model, body)
        }
        (_, p) if p.starts_with("/v2/models/") => (
            404,
            error(&format!(
                "unknown model or route `{p}`; this server has `{}`",
                model.model_name
            )),
        ),
        (_, p) => (404, error(&format!("no route `{method} {p}`"))),
    }
}

fn metadata(model: &Model) -> Value {
    let tensor = |spec: &jiebang_scenarios::package::TensorSpec| json!({ "name": spec.name, "datatype": spec.datatype, "shape": spec.shape });
    json!({
        "name": model.model_name,
        "versions": ["1"],
        "platform": "jiebang-baseline",
        "inputs": [tensor(&model.input)],
        "outputs": [tensor(&model.output)],
    })
}

fn infer(model: &Model, body: &[u8]) -> Reply {
    let request: Value = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => return (400, error(&format!("the body is not JSON: {e}"))),
    };
    let Some(tensor) = request["inputs"].as_array().and_then(|inputs| {
        inputs
            .iter()
            .find(|t| t["name"] == model.input.name.as_str())
    }) else {
        return (
            400,
            error(&format!("no input tensor `{}`", model.input.name)),
        );
    };
    let mut row = Vec::with_capacity(model.width());
    if !flatten_into(&tensor["data"], &mut row) {
        return (
            400,
            error(&format!("`{}` must hold numbers", model.input.name)),
        );
    }
    match model.predict(&row) {
        Ok(prediction) => {
            let mut answer = json!({
                "model_name": model.model_name,
                "outputs": [{
                    "name": model.output.name,
                    "datatype": model.output.datatype,
                    "shape": [1],
                    "data": [prediction],
                }],
            });
            if let Some(id) = request.get("id") {
                answer["id"] = id.clone();
            }
            (200, answer)
        }
        Err(message) => (400, error(&message)),
    }
}
