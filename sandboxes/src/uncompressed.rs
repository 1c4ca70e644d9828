//! How many bytes an archive entry becomes once the engine decompresses it: a gzip layer is
//! decompressed and counted while the archive is checked, since its compressed size says
//! nothing (an 8.7 MB upload became 8 GiB); compressions `docker save` never writes are refused.

use std::io::Read;

use crate::SandboxError;

/// Compression as the engine detects it, by the first bytes of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Xz,
    Bzip2,
}

/// The most bytes [`sniff`] looks at.
pub const MAGIC_BYTES: usize = 6;

/// The same magic numbers the engine's `DecompressStream` looks for.
pub fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if head.starts_with(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
        Compression::Xz
    } else if head.starts_with(b"BZh") {
        Compression::Bzip2
    } else {
        Compression::None
    }
}

/// Reads `reader` (an entry's content, from its first byte) and returns how many bytes it
/// holds decompressed, stopping once past `cap` (the result is then `cap + 1`).
pub fn measure(
    name: &str,
    compression: Compression,
    reader: impl Read,
    cap: u64,
) -> Result<u64, SandboxError> {
    let refuse = |reason: String| SandboxError::Archive(reason);
    let limit = cap.saturating_add(1);
    match compression {
        Compression::None => std::io::copy(&mut reader.take(limit), &mut std::io::sink())
            .map_err(|e| refuse(format!("entry `{name}` is cut short: {e}"))),
        // Multi-member, like the engine's reader.
        Compression::Gzip => std::io::copy(
            &mut flate2::read::MultiGzDecoder::new(reader).take(limit),
            &mut std::io::sink(),
        )
        .map_err(|e| refuse(format!("entry `{name}` is not valid gzip: {e}"))),
        other => Err(refuse(format!(
            "entry `{name}` is {} compressed; layers must be uncompressed or gzip \
             (as `docker save` writes them)",
            match other {
                Compression::Zstd => "zstd",
                Compression::Xz => "xz",
                _ => "bzip2",
            }
        ))),
    }
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the reader.
pub fn read_head(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_is_counted_decompressed_and_stops_past_the_cap() {
        let bomb = gzip(&vec![0u8; 8 << 20]);
        assert!(bomb.len() < 64 << 10, "a small upload: {}", bomb.len());
        assert_eq!(sniff(&bomb), Compression::Gzip);
        let whole = measure("layer", Compression::Gzip, bomb.as_slice(), u64::MAX - 1).unwrap();
        assert_eq!(whole, 8 << 20);
        let capped = measure("layer", Compression::Gzip, bomb.as_slice(), 1 << 20).unwrap();
        assert_eq!(capped, (1 << 20) + 1);
    }

    #[test]
    fn compressions_docker_save_never_writes_are_refused_by_name() {
        let zstd = [0x28, 0xb5, 0x2f, 0xfd, 0, 0];
        let reason = measure("l", sniff(&zstd), zstd.as_slice(), 100).unwrap_err();
        assert!(reason.to_string().contains("zstd"), "{reason}");
        assert_eq!(sniff(b"BZh91AY"), Compression::Bzip2);
        assert_eq!(sniff(b"plain tar"), Compression::None);
    }

    #[test]
    fn a_broken_gzip_is_refused() {
        let mut broken = gzip(b"hello");
        broken.truncate(12);
        assert!(measure("l", Compression::Gzip, broken.as_slice(), 100).is_err());
    }
}
