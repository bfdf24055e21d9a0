//! Body compression; mirrors Java's `ZlibCompressor` (RFC 1950 streams, as
//! `java.util.zip.Deflater` / `InflaterInputStream` write and read them), and the reading
//! side of `Lz4Compressor` (LZ4 frames, `LZ4FrameOutputStream`) and `ZstdCompressor`
//! (Zstandard frames), which Java producers use when `rocketmq.message.compressType` says so.
//!
//! LZ4 and ZSTD need the `lz4-zstd` feature (on by default; pure-Rust `lz4_flex` and
//! `ruzstd`). Without it such a body is [`BodyError::UnsupportedCompression`], whose message
//! names the feature.
//!
//! Decompression always takes a maximum output size: a small "zip bomb" fails with
//! [`BodyError::DecompressedTooLarge`] instead of exhausting memory.

use std::cell::RefCell;
#[cfg(feature = "lz4-zstd")]
use std::io::Read;
use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::{Compression, Decompress, FlushDecompress, Status};

use super::sys_flag::CompressionType;
use crate::protocol::error::BodyError;

/// The level Java's producer uses unless `rocketmq.message.compressLevel` says otherwise.
pub const DEFAULT_COMPRESS_LEVEL: u32 = 5;

/// Bodies at least this long are compressed by Java's producer
/// (`compressMsgBodyOverHowmuch`, 4 KiB).
pub const DEFAULT_COMPRESS_OVER: usize = 4 * 1024;

/// zlib-compresses `data` at `level` (0-9; larger values are clamped to 9).
pub fn compress(data: &[u8], level: u32) -> Result<Vec<u8>, BodyError> {
    let mut encoder = ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2 + 64),
        Compression::new(level.min(9)),
    );
    encoder
        .write_all(data)
        .map_err(|e| BodyError::Corrupt(e.to_string()))?;
    encoder
        .finish()
        .map_err(|e| BodyError::Corrupt(e.to_string()))
}

/// Decompresses a body compressed with `kind`, failing once the output would exceed
/// `max_output` bytes.
pub fn decompress_with(
    kind: CompressionType,
    data: &[u8],
    max_output: usize,
) -> Result<Vec<u8>, BodyError> {
    match kind {
        CompressionType::Zlib => decompress(data, max_output),
        #[cfg(feature = "lz4-zstd")]
        CompressionType::Lz4 => read_bounded(
            lz4_flex::frame::FrameDecoder::new(data),
            data.len(),
            max_output,
        ),
        #[cfg(feature = "lz4-zstd")]
        CompressionType::Zstd => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(data)
                .map_err(|e| BodyError::Corrupt(format!("zstd frame header: {e}")))?;
            read_bounded(decoder, data.len(), max_output)
        }
        #[cfg(not(feature = "lz4-zstd"))]
        other => Err(BodyError::UnsupportedCompression(other.value())),
    }
}

/// Reads a decompressing reader to its end, at most `max_output` bytes.
#[cfg(feature = "lz4-zstd")]
fn read_bounded(
    reader: impl Read,
    input_len: usize,
    max_output: usize,
) -> Result<Vec<u8>, BodyError> {
    let limit = u64::try_from(max_output)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut out = Vec::with_capacity(input_len.saturating_mul(2).min(max_output));
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Corrupt(e.to_string()))?;
    if out.len() > max_output {
        return Err(BodyError::DecompressedTooLarge { limit: max_output });
    }
    Ok(out)
}

/// Inflates a zlib stream, failing once the output would exceed `max_output` bytes.
///
/// Memory grows with the output actually produced, never by a size the input claims. Bytes
/// after the end of the stream are ignored, as Java's `InflaterInputStream` does; a corrupt or
/// truncated stream is [`BodyError::Corrupt`]. The output is the one buffer made: the
/// inflater's state (some 40 KB) is kept per thread and reused, since a consumer inflates
/// every compressed body it reads.
pub fn decompress(data: &[u8], max_output: usize) -> Result<Vec<u8>, BodyError> {
    thread_local! {
        static INFLATER: RefCell<Decompress> = RefCell::new(Decompress::new(true));
    }
    INFLATER.with(|inflater| {
        let mut inflater = inflater.borrow_mut();
        inflater.reset(true);
        inflate(&mut inflater, data, max_output)
    })
}

fn inflate(
    inflater: &mut Decompress,
    data: &[u8],
    max_output: usize,
) -> Result<Vec<u8>, BodyError> {
    // One byte past the limit is room enough to know the output is too large.
    let ceiling = max_output.saturating_add(1);
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).max(64).min(ceiling));
    loop {
        if out.len() == out.capacity() {
            let grown = out.capacity().saturating_mul(2).min(ceiling);
            out.reserve_exact(grown - out.len());
        }
        let (read, written) = (inflater.total_in(), out.len());
        let rest = usize::try_from(read)
            .ok()
            .and_then(|read| data.get(read..))
            .unwrap_or_default();
        let status = inflater
            .decompress_vec(rest, &mut out, FlushDecompress::None)
            .map_err(|e| BodyError::Corrupt(e.to_string()))?;
        if out.len() > max_output {
            return Err(BodyError::DecompressedTooLarge { limit: max_output });
        }
        if status == Status::StreamEnd {
            return Ok(out);
        }
        let stuck = inflater.total_in() == read && out.len() == written;
        if stuck && out.len() < out.capacity() {
            // Room to write, and nothing more to read: the stream ends early.
            return Err(BodyError::Corrupt("the zlib stream ends early".into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_writes_a_zlib_header() {
        let body: Vec<u8> = (0..10_000u32)
            .flat_map(|i| (i % 251).to_be_bytes())
            .collect();
        let packed = compress(&body, DEFAULT_COMPRESS_LEVEL).unwrap();
        assert!(packed.len() < body.len());
        // RFC 1950: CMF 0x78, and the header is a multiple of 31.
        assert_eq!(packed[0], 0x78);
        assert_eq!(u16::from_be_bytes([packed[0], packed[1]]) % 31, 0);
        assert_eq!(decompress(&packed, body.len()).unwrap(), body);
        assert_eq!(decompress(&compress(b"", 9).unwrap(), 0).unwrap(), b"");
    }

    #[test]
    fn reads_what_java_deflater_writes() {
        // java.util.zip.Deflater(5) output (DeflaterOutputStream, as ZlibCompressor uses it) for "hello hello hello hello".
        let java = [
            0x78, 0x5E, 0xCB, 0x48, 0xCD, 0xC9, 0xC9, 0x57, 0xC8, 0x40, 0x27, 0x01, 0x68, 0x03,
            0x08, 0xB1,
        ];
        assert_eq!(decompress(&java, 1024).unwrap(), b"hello hello hello hello");
    }

    #[test]
    fn a_bomb_fails_at_the_limit() {
        let bomb = compress(&vec![0u8; 8 * 1024 * 1024], 9).unwrap();
        assert!(bomb.len() < 16 * 1024);
        assert_eq!(
            decompress(&bomb, 1024 * 1024),
            Err(BodyError::DecompressedTooLarge { limit: 1024 * 1024 })
        );
        // Exactly at the limit is fine.
        assert_eq!(
            decompress(&compress(&[1u8; 100], 5).unwrap(), 100)
                .unwrap()
                .len(),
            100
        );
    }

    #[test]
    fn the_reused_inflater_starts_afresh_and_ignores_trailing_bytes() {
        let first = compress(&[1u8; 70_000], 5).unwrap();
        // A stream that failed halfway leaves nothing behind for the next one.
        assert!(decompress(&first[..first.len() / 2], 100_000).is_err());
        assert_eq!(decompress(&first, 100_000).unwrap(), vec![1u8; 70_000]);
        let mut padded = compress(b"tail", 5).unwrap();
        padded.extend_from_slice(b"after the stream");
        assert_eq!(decompress(&padded, 10).unwrap(), b"tail");
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        assert!(matches!(
            decompress(b"not zlib at all", 1024),
            Err(BodyError::Corrupt(_))
        ));
        let packed = compress(&[7u8; 5000], 5).unwrap();
        for cut in [0, 1, 2, packed.len() / 2, packed.len() - 1] {
            assert!(decompress(&packed[..cut], 10_000).is_err(), "cut at {cut}");
        }
    }
}
