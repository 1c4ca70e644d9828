//! The configuration's layers, sections and keys.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn defaults_need_nothing() {
    let config = Config::load(None, |_| None).unwrap();
    assert_eq!(config.bind, "127.0.0.1:8080");
    assert_eq!(config.database_url(), "sqlite://data/jiebang.db");
}

#[test]
fn environment_overrides_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jiebang.toml");
    std::fs::write(&file, "bind = \"0.0.0.0:9000\"\npool_size = 3\n").unwrap();
    let config = Config::load(Some(&file), |name| {
        (name == "JIEBANG_BIND").then(|| "127.0.0.1:7000".to_owned())
    })
    .unwrap();
    assert_eq!(config.bind, "127.0.0.1:7000");
    assert_eq!(config.pool_size, 3);
}

#[test]
fn a_typo_in_the_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jiebang.toml");
    std::fs::write(&file, "bnd = \"0.0.0.0:9000\"\n").unwrap();
    let error = Config::load(Some(&file), |_| None).unwrap_err();
    assert!(error.to_string().contains("bnd"), "{error}");
}

#[test]
fn oidc_from_file_and_environment_keeps_the_secret_out_of_debug() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jiebang.toml");
    std::fs::write(
        &file,
        "[oidc]\nissuer = \"https://id.example\"\nclient_id = \"jiebang\"\n",
    )
    .unwrap();
    let config = Config::load(Some(&file), |name| {
        (name == "JIEBANG_OIDC_CLIENT_SECRET").then(|| "s3cret-value".to_owned())
    })
    .unwrap();
    let oidc = config.oidc.as_ref().unwrap();
    assert_eq!(oidc.issuer, "https://id.example");
    assert_eq!(oidc.client_secret.expose(), "s3cret-value");
    assert_eq!(oidc.display_name, "OpenID Connect");
    assert!(!format!("{config:?}").contains("s3cret-value"));
    assert_eq!(
        config.oidc_redirect_url(),
        "http://127.0.0.1:8080/auth/oidc/callback"
    );
}

#[test]
fn oidc_needs_every_field_and_no_others() {
    let error = Config::load(None, |name| {
        (name == "JIEBANG_OIDC_ISSUER").then(|| "https://id.example".to_owned())
    })
    .unwrap_err();
    assert!(error.to_string().contains("client_id"), "{error}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jiebang.toml");
    std::fs::write(
        &file,
        "[oidc]\nissuer = \"i\"\nclient_id = \"c\"\nclient_secret = \"s\"\nscope = \"x\"\n",
    )
    .unwrap();
    let error = Config::load(Some(&file), |_| None).unwrap_err();
    assert!(error.to_string().contains("scope"), "{error}");
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jiebang.toml");
    std::fs::write(
        &file,
        "session_secret = \"s3cret-session\"\n[oidc]\nissuer = \"https://id.example\"\n\
         client_id = \"jb\"\nclient_secret = \"s3cret-client\"\ndisplay_name = \"ID\"\n",
    )
    .unwrap();
    let config = Config::load(Some(&file), |_| None).unwrap();
    assert_eq!(config.oidc.as_ref().unwrap().display_name, "ID");
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

fn file_with(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jiebang.toml");
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

fn device(id: &str, model: &str) -> Device {
    Device::new(id, model)
}

#[test]
fn worker_and_sandbox_sections_from_the_file() {
    let (_dir, file) = file_with(
        "[worker]\nembedded = false\nlease_seconds = 30\ncpuset = \"2-7\"\n\
         harness_cpuset = \"0-1\"\nname = \"gpu-1\"\n\
         [sandbox]\nruntime = \"runsc\"\nmax_image_bytes = 1024\n\
         [[sandbox.accelerators]]\nid = \"0\"\nmodel = \"H100\"\n\
         [[sandbox.accelerators]]\nid = \"1\"\nmodel = \"H100\"\n",
    );
    let config = Config::load(Some(&file), |_| None).unwrap();
    assert!(!config.worker.embedded);
    assert_eq!(config.worker.lease_seconds, 30);
    assert_eq!(config.worker.cpuset.as_deref(), Some("2-7"));
    assert_eq!(config.worker.harness_cpuset.as_deref(), Some("0-1"));
    assert_eq!(config.sandbox.runtime.as_deref(), Some("runsc"));
    assert_eq!(config.sandbox.max_image_bytes, 1024);
    assert_eq!(config.sandbox.user, SandboxConfig::default().user);
    assert_eq!(
        config.sandbox.accelerators,
        [device("0", "H100"), device("1", "H100")]
    );
}

#[test]
fn earlier_variable_names_still_work() {
    let config = Config::load(None, |name| match name {
        "JIEBANG_EMBEDDED_WORKER" => Some("false".to_owned()),
        "JIEBANG_WORKER_CPUSET" => Some("1".to_owned()),
        "JIEBANG_HARNESS_CPUSET" => Some("0".to_owned()),
        "JIEBANG_WORKER_LEASE_SECONDS" => Some("2".to_owned()),
        "JIEBANG_DATA" => Some("/srv/jiebang".to_owned()),
        _ => None,
    })
    .unwrap();
    assert!(!config.worker.embedded);
    assert_eq!(config.worker.cpuset.as_deref(), Some("1"));
    assert_eq!(config.worker.harness_cpuset.as_deref(), Some("0"));
    assert_eq!(config.worker.lease_seconds, 2);
    assert_eq!(config.data_dir, PathBuf::from("/srv/jiebang"));
}

#[test]
fn a_key_moved_into_a_section_names_its_new_place() {
    let (_dir, file) = file_with("worker_cpuset = \"1\"\n");
    let error = Config::load(Some(&file), |_| None).unwrap_err().to_string();
    assert!(
        error.contains("worker_cpuset") && error.contains("`cpuset` in the `[worker]` section"),
        "{error}"
    );
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let (_dir, file) = file_with(
        "[sandbox]\nruntime = \"from-file\"\nuser = \"1000:1000\"\n\
         accelerators = [{ id = \"9\", model = \"V100\" }]\n",
    );
    let environment = |name: &str| match name {
        "JIEBANG_SANDBOX_RUNTIME" => Some("from-env".to_owned()),
        "JIEBANG_SANDBOX_ACCELERATORS" => Some("0=A100, 1=A100".to_owned()),
        _ => None,
    };
    let config = Config::load(Some(&file), environment).unwrap();
    assert_eq!(config.sandbox.runtime.as_deref(), Some("from-env"));
    assert_eq!(config.sandbox.user, "1000:1000");
    assert_eq!(
        config.sandbox.accelerators,
        [device("0", "A100"), device("1", "A100")]
    );
    let flags = [
        Flag {
            key: "sandbox.runtime",
            flag: "--runtime",
            value: "runsc".to_owned(),
        },
        Flag {
            key: "sandbox.accelerators",
            flag: "--accelerator",
            value: "GPU-5f2c=H100".to_owned(),
        },
    ];
    let config = Config::load_with_flags(Some(&file), environment, &flags).unwrap();
    assert_eq!(config.sandbox.runtime.as_deref(), Some("runsc"));
    assert_eq!(config.sandbox.accelerators, [device("GPU-5f2c", "H100")]);
}

#[test]
fn bad_text_names_the_variable_or_flag_and_bad_file_values_their_key() {
    let error = Config::load(None, |name| {
        (name == "JIEBANG_SANDBOX_ACCELERATORS").then(|| "0:H100".to_owned())
    })
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("JIEBANG_SANDBOX_ACCELERATORS") && error.contains("ID=MODEL"),
        "{error}"
    );
    let flags = [Flag {
        key: "worker.lease_seconds",
        flag: "--lease",
        value: "soon".to_owned(),
    }];
    let error = Config::load_with_flags(None, |_| None, &flags)
        .unwrap_err()
        .to_string();
    assert!(error.contains("--lease: must be a whole number"), "{error}");
    let (_dir, file) = file_with("[sandbox]\naccelerators = [{ id = \"0\", modle = \"H100\" }]\n");
    let error = Config::load(Some(&file), |_| None).unwrap_err().to_string();
    assert!(
        error.contains("sandbox.accelerators") && error.contains("modle"),
        "{error}"
    );
}

#[test]
fn every_key_has_its_own_variable_and_a_line_in_the_operator_guide() {
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/guide-operator.md"
    ))
    .unwrap();
    let keys = Config::keys();
    let mut variables: Vec<&str> = keys.iter().map(|k| k.variable.as_str()).collect();
    variables.sort_unstable();
    variables.dedup();
    assert_eq!(variables.len(), keys.len(), "two keys share a variable");
    for key in &keys {
        assert!(
            guide.contains(&format!("| `{}` | `{}` |", key.path, key.variable)),
            "docs/guide-operator.md has no table row for `{}` ({})",
            key.path,
            key.variable
        );
        assert!(!key.summary().is_empty(), "`{}` has no doc", key.path);
    }
}

#[test]
fn accelerators_name_their_vendor_in_the_file_and_on_the_command_line() {
    let (_dir, file) = file_with(
        "[sandbox]\ndevice_root = \"/srv/fake-dev\"\naccelerators = [\n  \
         { id = \"0\", model = \"MLU270\", vendor = \"cambricon\" },\n  \
         { id = \"GPU-1\", model = \"A100\" },\n]\n",
    );
    let config = Config::load(Some(&file), |_| None).unwrap();
    assert_eq!(config.sandbox.device_root, Path::new("/srv/fake-dev"));
    let vendors: Vec<Vendor> = config
        .sandbox
        .accelerators
        .iter()
        .map(|d| d.vendor)
        .collect();
    assert_eq!(vendors, [Vendor::Cambricon, Vendor::Nvidia]);
    let config = Config::load(None, |name| {
        (name == "JIEBANG_SANDBOX_ACCELERATORS")
            .then(|| "ascend:3=910B3, cambricon:1=MLU270, 2=T4".to_owned())
    })
    .unwrap();
    let devices: Vec<(Vendor, &str, &str)> = config
        .sandbox
        .accelerators
        .iter()
        .map(|d| (d.vendor, d.id.as_str(), d.model.as_str()))
        .collect();
    assert_eq!(
        devices,
        [
            (Vendor::Ascend, "3", "910B3"),
            (Vendor::Cambricon, "1", "MLU270"),
            (Vendor::Nvidia, "2", "T4")
        ]
    );
    assert_eq!(
        Config::load(None, |_| None).unwrap().sandbox.device_root,
        Path::new("/dev")
    );
    let error = Config::load(None, |name| {
        (name == "JIEBANG_SANDBOX_ACCELERATORS").then(|| "amd:0=MI300".to_owned())
    })
    .unwrap_err()
    .to_string();
    assert!(error.contains("`amd` is not a vendor"), "{error}");
}
