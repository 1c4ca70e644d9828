//! The archive checker against hand-made archives, hostile and plain.
#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn links_must_stay_inside() {
    assert!(check_link(Path::new("a/b/link"), Path::new("../c")).is_ok());
    assert!(check_link(Path::new("a/link"), Path::new("../../etc/passwd")).is_err());
    assert!(check_link(Path::new("link"), Path::new("/etc/passwd")).is_err());
}

const CONFIG: &[u8] = br#"{"os":"linux","architecture":"amd64","config":{}}"#;
const MANIFEST: &[u8] = br#"[{"Config":"config.json","Layers":["layer.tar"]}]"#;

fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, name, *content).unwrap();
    }
    builder.into_inner().unwrap()
}

fn reason(archive: &[u8], limits: &ImportLimits) -> String {
    match check(archive, limits) {
        Err(SandboxError::Archive(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn gzip_of_zeros(bytes: usize) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; bytes]).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_gzip_layer_counts_by_what_it_unpacks_to() {
    let bomb = gzip_of_zeros(32 << 20);
    let limits = ImportLimits {
        max_total_bytes: 16 << 20,
        max_layer_bytes: 16 << 20,
        ..ImportLimits::default()
    };
    let archive = tar_of(&[
        ("config.json", CONFIG),
        ("layer.tar", &bomb),
        ("manifest.json", MANIFEST),
    ]);
    assert!(archive.len() < 1 << 20, "a small upload");
    let refused = reason(&archive, &limits);
    assert!(refused.contains("decompressed"), "{refused}");
    // The same layer as a blob, small enough to be kept for inspection, is counted too.
    let blob = tar_of(&[
        ("config.json", CONFIG),
        ("blobs/sha256/aa", &bomb),
        ("manifest.json", MANIFEST),
    ]);
    assert!(reason(&blob, &limits).contains("decompressed"));
    let fits = ImportLimits::default();
    let summary = check(archive.as_slice(), &fits).unwrap();
    assert_eq!(
        summary.unpacked_bytes,
        (32 << 20) + (CONFIG.len() + MANIFEST.len()) as u64
    );
}

#[test]
fn large_json_is_refused_for_its_size() {
    let big = vec![b' '; (MAX_JSON_BYTES + 1) as usize];
    let limits = ImportLimits::default();
    let refused = reason(
        &tar_of(&[("config.json", &big), ("manifest.json", MANIFEST)]),
        &limits,
    );
    assert!(
        refused.contains("over the limit of 1048576 bytes"),
        "{refused}"
    );
    assert!(refused.contains("image configuration"), "{refused}");
    let refused = reason(&tar_of(&[("manifest.json", &big)]), &limits);
    assert!(
        refused.contains("the manifest `manifest.json` is 1048577 bytes"),
        "{refused}"
    );
}

#[test]
fn an_entry_under_a_link_is_refused() {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    builder.append_link(&mut header, "d", ".").unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(CONFIG.len() as u64);
    builder
        .append_data(&mut header, "d/config.json", CONFIG)
        .unwrap();
    let archive = builder.into_inner().unwrap();
    let refused = reason(&archive, &ImportLimits::default());
    assert!(refused.contains("under the link `d`"), "{refused}");
}

#[test]
fn volumes_are_refused_by_name() {
    let config = br#"{"os":"linux","architecture":"amd64","config":{"Volumes":{"/data":{}}}}"#;
    let archive = tar_of(&[
        ("config.json", config),
        ("layer.tar", b""),
        ("manifest.json", MANIFEST),
    ]);
    let refused = reason(&archive, &ImportLimits::default());
    assert!(refused.contains("VOLUME /data"), "{refused}");
}

#[test]
fn paths_must_be_relative_and_not_climb() {
    assert!(check_path(Path::new("blobs/sha256/abc")).is_ok());
    assert!(check_path(Path::new("/etc/passwd")).is_err());
    assert!(check_path(Path::new("a/../../b")).is_err());
}

/// A small deterministic generator, so a failing input can be found again by its seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn thousands_of_mangled_archives_never_panic_and_what_passes_repacks_to_the_same_image() {
    let layer = gzip_of_zeros(4096);
    let valid = tar_of(&[
        ("config.json", CONFIG),
        ("layer.tar", &layer),
        ("manifest.json", MANIFEST),
    ]);
    let limits = ImportLimits {
        max_total_bytes: 1 << 20,
        max_layer_bytes: 1 << 20,
        max_entries: 64,
    };
    let expected = check(valid.as_slice(), &limits).unwrap().image_id;
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut accepted = 0;
    for _ in 0..4000 {
        let mut input = valid.clone();
        match random.below(4) {
            0 => {
                for _ in 0..=random.below(8) {
                    let at = random.below(input.len());
                    input[at] ^= 1 << random.below(8);
                }
            }
            1 => input.truncate(random.below(input.len())),
            2 => {
                let at = random.below(input.len());
                let end = (at + random.below(64)).min(input.len());
                for byte in &mut input[at..end] {
                    *byte = random.next() as u8;
                }
            }
            _ => {
                input = (0..random.below(4096))
                    .map(|_| random.next() as u8)
                    .collect()
            }
        }
        let Ok(summary) = check(input.as_slice(), &limits) else {
            continue;
        };
        accepted += 1;
        let mut repacked = Vec::new();
        let manifest = crate::repack::manifest(&summary, "jiebang/job:load-fuzz");
        crate::repack::repack(input.as_slice(), &mut repacked, &manifest).unwrap();
        let again = check(repacked.as_slice(), &limits).unwrap();
        assert_eq!(again.image_id, summary.image_id);
        assert_eq!(again.layer_paths, summary.layer_paths);
        if input == valid {
            assert_eq!(summary.image_id, expected);
        }
    }
    assert!(
        accepted > 0,
        "some mangled archives still pass (flips in padding)"
    );
}
