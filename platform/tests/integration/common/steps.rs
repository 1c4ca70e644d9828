//! The steps many tests take on the way to what they test: a team enrols and uploads an
//! image; the scenarios crate's test package is copied, edited and loaded into the catalog.

use std::path::{Path, PathBuf};

use actix_web::http::Method;
use jiebang_platform::catalog;
use serde_json::json;

use super::{Actor, Reply, TestApp};

/// The scenarios crate's test package (id `test-parcel-delay`).
pub fn test_package_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/fixtures/valid-package")
}

/// Copies the test package to `dir/name` and returns the copy's path.
pub fn copy_test_package(dir: &Path, name: &str) -> PathBuf {
    let target = dir.join(name);
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(test_package_source())
        .arg(&target)
        .status()
        .unwrap();
    assert!(status.success());
    target
}

/// Rewrites a text file through `change`.
pub fn edit(path: &Path, change: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, change(text)).unwrap();
}

/// The test package for scenario `id` (of Konggang) as a tar of one top-level folder, after
/// `change` edits the copy: what a department uploads.
pub fn package_archive(id: &str, change: impl FnOnce(&Path)) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let copy = copy_test_package(dir.path(), "pkg");
    edit(&copy.join("scenario.toml"), |text| {
        text.replace("id = \"test-parcel-delay\"", &format!("id = \"{id}\""))
    });
    change(&copy);
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_dir_all("pkg", &copy).unwrap();
    builder.into_inner().unwrap()
}

impl TestApp {
    /// `who` enrols `team` in `scenario`; the reply, for tests that check it.
    pub async fn enrol(&self, scenario: &str, who: &Actor, team: &str) -> Reply {
        self.post(
            &format!("/api/v1/scenarios/{scenario}/enrolments"),
            who.token(),
            json!({"team_id": team}),
        )
        .await
    }

    /// Enrols the team (once) and uploads an image of these bytes; the submission's id.
    pub async fn submit(
        &self,
        scenario: &str,
        who: &Actor,
        team: &str,
        image: impl AsRef<[u8]>,
    ) -> String {
        let enrolled = self.enrol(scenario, who, team).await;
        assert!(
            enrolled.status == 201 || enrolled.code() == "already_enrolled",
            "{:?}",
            enrolled.body
        );
        let reply = self
            .raw(
                Method::POST,
                &format!("/api/v1/scenarios/{scenario}/submissions?team_id={team}"),
                who.token(),
                Some("application/x-tar"),
                actix_web::web::Bytes::copy_from_slice(image.as_ref()),
            )
            .await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        reply.body["submission"]["id"].as_str().unwrap().to_owned()
    }

    /// Carol, who is on no team of the world, founds a company team of this name; its id.
    pub async fn carol_founds(&self, name: &str) -> String {
        let created = self
            .post(
                "/api/v1/teams",
                self.world.carol.token(),
                json!({"name": name, "kind": "company", "institution": "Weiyang Labs"}),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        created.body["id"].as_str().unwrap().to_owned()
    }

    /// Alice's team A submits an image of these bytes to `kg-open`, the world's open scenario.
    pub async fn team_a_submits(&self, image: impl AsRef<[u8]>) -> String {
        let w = &self.world;
        self.submit("kg-open", &w.alice, w.team_a.as_str(), image)
            .await
    }

    /// `PUT /api/v1/scenarios/{scenario}/package` with this archive, as `who`.
    pub async fn put_package(&self, scenario: &str, who: &Actor, archive: Vec<u8>) -> Reply {
        self.raw(
            Method::PUT,
            &format!("/api/v1/scenarios/{scenario}/package"),
            who.token(),
            Some("application/x-tar"),
            archive,
        )
        .await
    }

    /// Registers a worker node (`POST /internal/v1/workers`) with this worker token; its id.
    pub async fn register_worker(&self, token: &str, node: serde_json::Value) -> String {
        let reply = self.post("/internal/v1/workers", Some(token), node).await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        reply.body["worker_id"].as_str().unwrap().to_owned()
    }

    /// Loads the catalog in `dir`, whose one package must be taken.
    pub fn load_catalog(&self, dir: &Path) {
        let loaded = catalog::load(&self.state.db, &self.state.blobs, dir).unwrap();
        assert_eq!(loaded.loaded.len(), 1, "{:?}", loaded.refused);
    }
}
