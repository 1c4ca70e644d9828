//! Serve mode: the harness reaches the service; the service reaches nothing.

use std::time::Duration;

use jiebang_sandboxes::{Mode, Termination};

use crate::common::{assert_nothing_left, eventually_nothing_left, sandbox, slot, spec};

fn serve_spec(name: &str, args: &[&str]) -> jiebang_sandboxes::RunSpec {
    let mut spec = spec(name, args);
    spec.mode = Mode::Serve { port: 8080 };
    spec.limits.wall_clock = Duration::from_secs(20);
    spec
}

async fn answers(address: std::net::SocketAddr) -> bool {
    for _ in 0..50 {
        if let Ok(Ok(mut stream)) = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(address),
        )
        .await
        {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            if stream
                .write_all(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .is_ok()
            {
                let mut buffer = [0u8; 64];
                if let Ok(n) = stream.read(&mut buffer).await {
                    return buffer[..n].starts_with(b"HTTP/1.1 200");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn exit_code_of(service: jiebang_sandboxes::RunningService) -> Termination {
    for _ in 0..100 {
        if !service.is_running().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    service.finish().await.unwrap().termination
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_reaches_a_service_that_reaches_nothing() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let server = serve_spec("server", &["serve", "8080"]);
    let service = sandbox.start_service(&server).await.unwrap();
    assert!(
        answers(service.address).await,
        "the harness reaches the service at {}",
        service.address
    );

    // A listener on every host address: the job's network must not reach it.
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let gateway = {
        let octets = match service.address.ip() {
            std::net::IpAddr::V4(ip) => ip.octets(),
            std::net::IpAddr::V6(_) => unreachable!("job networks are IPv4"),
        };
        format!("{}.{}.{}.1", octets[0], octets[1], octets[2])
    };
    let to_host = serve_spec("to-host", &["connect", &format!("{gateway}:{port}")]);
    let probe = sandbox.start_service(&to_host).await.unwrap();
    assert_eq!(
        exit_code_of(probe).await,
        Termination::Exited { code: 1 },
        "the host is out of reach"
    );

    let to_neighbour = serve_spec("to-neighbour", &["connect", &service.address.to_string()]);
    let probe = sandbox.start_service(&to_neighbour).await.unwrap();
    assert_eq!(
        exit_code_of(probe).await,
        Termination::Exited { code: 1 },
        "another job's container is out of reach"
    );

    let outcome = service.finish().await.unwrap();
    assert_eq!(outcome.termination, Termination::Stopped);
    for job in [&server.job_id, &to_host.job_id, &to_neighbour.job_id] {
        assert_nothing_left(job);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_panics_leaves_nothing() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let doomed = serve_spec("panicking-caller", &["serve", "8080"]);
    let job = doomed.job_id.clone();
    let task = tokio::spawn(async move {
        let _service = sandbox.start_service(&doomed).await.unwrap();
        panic!("the harness crashed");
    });
    assert!(task.await.is_err());
    eventually_nothing_left(&job).await;
}
