//! Deterministic fuzzing of the frame decoder, with no extra dependencies.
//!
//! Inputs: random byte strings, and mutations (bit flips, extreme length fields, truncation,
//! garbage) of the captured fixture frames and of freshly encoded JSON / ROCKETMQ frames.
//! Every input goes through the connection's `FrameDecoder`, fed at once and in pieces of
//! random sizes (sometimes filling bodies directly, as the socket reader does), and through
//! `decode_frame`; none may panic, the piecewise and the whole feeds must agree, and whatever
//! decodes must re-encode and decode back to the same command.
//!
//! The seed is fixed (and printed on failure); override it with `DECODER_FUZZ_SEED=<u64>`, and
//! scale the number of inputs with `DECODER_FUZZ_SCALE=<n>` (default 1).

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;

use rocketmq_blocking::protocol::{
    decode_first_frame, decode_frame, frame_length, parse_mark, DecodeError, FrameDecoder,
    LanguageCode, RemotingCommand, SerializeType, DEFAULT_MAX_FRAME_LENGTH,
};

const DEFAULT_SEED: u64 = 0x5EED_2024_0C0F_FEE1;
const MAX_FRAME: usize = 64 * 1024;

const RANDOM_INPUTS: usize = 50_000;
const FIXTURE_MUTATIONS: usize = 50_000;
const GENERATED_MUTATIONS: usize = 50_000;
const ROUND_TRIPS: usize = 5_000;

// A default run feeds at least 100,000 inputs to the decoders.
const _: () = assert!(RANDOM_INPUTS + FIXTURE_MUTATIONS + GENERATED_MUTATIONS >= 100_000);

// ------------------------------------------------------------------------------------ PRNG

/// xorshift64 (Marsaglia); deterministic for a given seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // xorshift has a fixed point at 0.
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn seed() -> u64 {
    match std::env::var("DECODER_FUZZ_SEED") {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("DECODER_FUZZ_SEED={s:?} is not a u64"))
        }
        Err(_) => DEFAULT_SEED,
    }
}

fn scale() -> usize {
    std::env::var("DECODER_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

// ------------------------------------------------------------------------------ the oracle

/// Runs one input through both decoders and checks every property; returns true when the
/// streaming decoder produced a command.
fn check_input(input: &[u8]) -> bool {
    let streamed = decode_first_frame(input, MAX_FRAME);
    // The same bytes in pieces of random sizes, as a socket delivers them, with large bodies
    // sometimes appended straight into the decoder's body buffer as the reader does: the
    // same outcome.
    let mut rng = Rng::new(input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    }));
    assert_eq!(
        decode_in_pieces(input, MAX_FRAME, &mut rng),
        streamed,
        "fed in pieces, the decoder disagrees with itself fed at once"
    );
    let mut decoded = false;
    match &streamed {
        Ok(Some((cmd, used))) => {
            decoded = true;
            let used = *used;
            assert!(
                used <= input.len(),
                "used {used} > input length {}",
                input.len()
            );
            let prefix: [u8; 4] = input[..4].try_into().unwrap();
            let total = frame_length(prefix, MAX_FRAME).expect("decoded with a bad prefix");
            assert_eq!(used, 4 + total, "used is not the announced frame length");
            // The streaming decoder is decode_frame over exactly the announced bytes.
            assert_eq!(decode_frame(&input[4..used]).as_ref(), Ok(cmd));
            assert_round_trip(cmd);
        }
        Ok(None) => {
            // More bytes needed: only when the prefix is short or the frame incomplete.
            if input.len() >= 4 {
                let prefix: [u8; 4] = input[..4].try_into().unwrap();
                let total = frame_length(prefix, MAX_FRAME)
                    .expect("Ok(None) for a prefix that frame_length rejects");
                assert!(
                    input.len() < 4 + total,
                    "Ok(None) although the whole frame is there"
                );
            }
        }
        Err(e) => {
            // The error comes from the prefix check, the mark check (as soon as the mark is
            // there, before the rest of the frame), or from decoding the announced bytes.
            assert!(input.len() >= 4, "error {e:?} for fewer than 4 bytes");
            let prefix: [u8; 4] = input[..4].try_into().unwrap();
            match frame_length(prefix, MAX_FRAME) {
                Err(pe) => assert_eq!(&pe, e),
                Ok(total) => {
                    assert!(input.len() >= 8, "error {e:?} before the mark arrived");
                    let mark: [u8; 4] = input[4..8].try_into().unwrap();
                    match parse_mark(mark, total) {
                        Err(me) => assert_eq!(&me, e),
                        Ok(_) => {
                            assert!(input.len() >= 4 + total);
                            assert_eq!(decode_frame(&input[4..4 + total]).as_ref(), Err(e));
                        }
                    }
                }
            }
        }
    }

    // decode_frame on everything after the prefix, whatever the prefix says.
    let after = input.get(4..).unwrap_or(&[]);
    if let Ok(cmd) = decode_frame(after) {
        assert_round_trip(&cmd);
        decoded = true;
    }
    decoded
}

/// Feeds `input` to one [`FrameDecoder`] in pieces of random sizes until a command comes out,
/// an error, or the input ends; sometimes a body is appended through `body_buffer`.
fn decode_in_pieces(
    input: &[u8],
    max: usize,
    rng: &mut Rng,
) -> Result<Option<(RemotingCommand, usize)>, DecodeError> {
    let mut decoder = FrameDecoder::new(max);
    let mut at = 0;
    loop {
        if rng.chance(3) {
            if let Some((body, wanted)) = decoder.body_buffer() {
                let n = wanted.min(input.len() - at).min(1 + rng.below(4096));
                body.extend_from_slice(&input[at..at + n]);
                at += n;
                if let (0, Some(cmd)) = decoder.feed(&[])? {
                    return Ok(Some((cmd, at)));
                }
                continue;
            }
        }
        if at == input.len() {
            return Ok(None);
        }
        let piece = 1 + rng.below((input.len() - at).min(64));
        let (used, cmd) = decoder.feed(&input[at..at + piece])?;
        assert!(used <= piece, "took {used} of a {piece}-byte piece");
        at += used;
        if let Some(cmd) = cmd {
            return Ok(Some((cmd, at)));
        }
        assert_eq!(
            used, piece,
            "stopped short of a piece without finishing a frame"
        );
    }
}

/// encode → decode must give the same command back.
fn assert_round_trip(cmd: &RemotingCommand) {
    let encoded = cmd
        .encode()
        .unwrap_or_else(|e| panic!("re-encoding {cmd:?} failed: {e}"));
    let (back, used) = decode_first_frame(&encoded, usize::MAX)
        .unwrap_or_else(|e| panic!("re-encoded {cmd:?} does not decode: {e}"))
        .expect("re-encoded frame is incomplete");
    assert_eq!(used, encoded.len());
    assert_eq!(&back, cmd, "decode(encode(cmd)) != cmd");
    assert_eq!(decode_frame(&encoded[4..]).as_ref(), Ok(cmd));
}

/// Runs `check_input`, turning a panic into one that names the seed, case and input.
///
/// `seed` is the base seed (what `DECODER_FUZZ_SEED` sets); each test salts it.
fn run_case(seed: u64, label: &str, case: usize, input: &[u8]) -> bool {
    match panic::catch_unwind(AssertUnwindSafe(|| check_input(input))) {
        Ok(decoded) => decoded,
        Err(payload) => {
            eprintln!(
                "decoder_fuzz FAILED: seed={seed:#x} (DECODER_FUZZ_SEED={seed}) {label} case {case}\n\
                 input ({} bytes): {}",
                input.len(),
                hex(input)
            );
            panic::resume_unwind(payload)
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------------------- valid frames

fn fixture_frames() -> Vec<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures");
    let mut frames = Vec::new();
    for dir in ["java-4.9.8", "cpp-2.0"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "bin"))
            .collect();
        paths.sort();
        for p in paths {
            frames.push(std::fs::read(p).unwrap());
        }
    }
    assert_eq!(frames.len(), 19, "expected the 19 captured fixture frames");
    frames
}

const LANGUAGES: [LanguageCode; 14] = [
    LanguageCode::Java,
    LanguageCode::Cpp,
    LanguageCode::Dotnet,
    LanguageCode::Python,
    LanguageCode::Delphi,
    LanguageCode::Erlang,
    LanguageCode::Ruby,
    LanguageCode::Other,
    LanguageCode::Http,
    LanguageCode::Go,
    LanguageCode::Php,
    LanguageCode::Oms,
    LanguageCode::Rust,
    LanguageCode::NodeJs,
];

const WORDS: [&str; 16] = [
    "topic",
    "TopicTest",
    "queueId",
    "0",
    "-1",
    "",
    "KEYS\u{1}k\u{2}TAGS\u{1}TagA",
    "\"quoted\"",
    "back\\slash",
    "new\nline",
    "\u{0}nul",
    "héllo wörld",
    "日本語",
    "emoji 🚀",
    "{\"json\":[1,2]}",
    "\u{7f}\u{80}\u{ffff}",
];

fn random_string(rng: &mut Rng, max_chars: usize) -> String {
    if rng.chance(2) {
        return rng.pick(&WORDS).to_string();
    }
    let len = rng.below(max_chars + 1);
    (0..len)
        .map(|_| match rng.below(6) {
            0 => char::from(rng.below(0x20) as u8),
            1 => *rng.pick(&['"', '\\', '{', '}', ':', ',', '/', ' ']),
            2 => char::from_u32(0x80 + rng.below(0xD800 - 0x80) as u32).unwrap(),
            3 => char::from_u32(0x10000 + rng.below(0x10000) as u32).unwrap(),
            _ => char::from(b' ' + rng.below(95) as u8),
        })
        .collect()
}

/// A random, valid command that must survive encode → decode unchanged.
fn random_command(rng: &mut Rng) -> RemotingCommand {
    let serialize = if rng.chance(2) {
        SerializeType::Json
    } else {
        SerializeType::RocketMq
    };
    let binary = serialize == SerializeType::RocketMq;
    let small = |rng: &mut Rng| -> i32 {
        match rng.below(4) {
            0 => *rng.pick(&[
                0,
                1,
                10,
                11,
                34,
                105,
                310,
                409,
                -1,
                i16::MAX as i32,
                i16::MIN as i32,
            ]),
            _ => rng.next_u64() as i16 as i32,
        }
    };
    let wide = |rng: &mut Rng| -> i32 {
        match rng.below(3) {
            0 => *rng.pick(&[0, 1, 2, 3, -1, i32::MAX, i32::MIN]),
            _ => rng.next_u64() as i32,
        }
    };
    // The binary header stores code and version as i16; JSON takes any i32.
    let code = if binary { small(rng) } else { wide(rng) };
    let version = if binary { small(rng) } else { wide(rng) };
    let mut cmd = RemotingCommand::new_request(code).with_serialize_type(serialize);
    cmd.version = version;
    cmd.opaque = wide(rng);
    cmd.flag = wide(rng);
    cmd.language = *rng.pick(&LANGUAGES);
    cmd.remark = match rng.below(3) {
        0 => None,
        // A zero-length binary remark reads back as None, so binary remarks are non-empty.
        _ => Some(random_string(rng, 24)).filter(|r| !(binary && r.is_empty())),
    };
    for _ in 0..rng.below(8) {
        let key = random_string(rng, 12);
        let value = random_string(rng, 40);
        cmd.ext_fields.insert(key, value);
    }
    if rng.chance(2) {
        let len = rng.below(64);
        cmd.body = rng.bytes(len).into();
    }
    cmd
}

/// Offsets and widths of every length field of a ROCKETMQ binary-header frame: the prefix,
/// the mark, the remark length, the ext length, and each key and value length.
fn binary_length_fields(frame: &[u8]) -> Vec<(usize, usize)> {
    let mut fields = vec![(0, 4), (4, 4)];
    let be32 = |at: usize| i32::from_be_bytes(frame[at..at + 4].try_into().unwrap()) as usize;
    let be16 = |at: usize| i16::from_be_bytes(frame[at..at + 2].try_into().unwrap()) as usize;
    let header_end = 8 + (be32(4) & 0x00FF_FFFF);
    let remark_at = 8 + 2 + 1 + 2 + 4 + 4;
    fields.push((remark_at, 4));
    let ext_at = remark_at + 4 + be32(remark_at);
    fields.push((ext_at, 4));
    let mut at = ext_at + 4;
    while at < header_end {
        fields.push((at, 2));
        at += 2 + be16(at);
        fields.push((at, 4));
        at += 4 + be32(at);
    }
    assert_eq!(at, header_end, "not a valid binary-header frame");
    fields
}

// ---------------------------------------------------------------------------- mutations

/// Values that break length checks: negative, zero, huge, i16 edges, 24-bit edges.
fn extreme(rng: &mut Rng, actual: i64) -> i64 {
    match rng.below(12) {
        0 => -1,
        1 => 0,
        2 => i32::MAX as i64,
        3 => i32::MIN as i64,
        4 => i16::MIN as i64,
        5 => i16::MAX as i64,
        6 => 0xFFFF,
        7 => 0x00FF_FFFF,
        8 => 0x0100_0000,
        9 => actual + 1,
        10 => actual - 1,
        _ => rng.next_u64() as i32 as i64,
    }
}

fn write_field(frame: &mut [u8], at: usize, width: usize, value: i64) {
    if at + width > frame.len() {
        return;
    }
    match width {
        2 => frame[at..at + 2].copy_from_slice(&(value as i16).to_be_bytes()),
        _ => frame[at..at + 4].copy_from_slice(&(value as i32).to_be_bytes()),
    }
}

fn read_field(frame: &[u8], at: usize, width: usize) -> i64 {
    match width {
        2 => i16::from_be_bytes(frame[at..at + 2].try_into().unwrap()) as i64,
        _ => i32::from_be_bytes(frame[at..at + 4].try_into().unwrap()) as i64,
    }
}

/// Rewrites the prefix and the header length so that the decoder reaches the header parser.
fn fix_lengths(frame: &mut [u8], header_len: usize) {
    if frame.len() < 8 {
        return;
    }
    let total = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&total.to_be_bytes());
    let header_len = header_len.min(frame.len() - 8) as u32;
    let mark = (u32::from(frame[4]) << 24) | (header_len & 0x00FF_FFFF);
    frame[4..8].copy_from_slice(&mark.to_be_bytes());
}

const JSON_BYTES: &[u8] = b"{}[]\":,\\0123456789-+.eEntrufals \n\tu";

/// One random mutation of a valid frame; `length_fields` are its binary length fields, if any.
fn mutate(rng: &mut Rng, frame: &mut Vec<u8>, length_fields: &[(usize, usize)]) {
    let header_len = if frame.len() >= 8 {
        (u32::from_be_bytes(frame[4..8].try_into().unwrap()) & 0x00FF_FFFF) as usize
    } else {
        0
    };
    match rng.below(11) {
        // Flip a few random bits anywhere.
        0 => {
            for _ in 0..1 + rng.below(4) {
                if !frame.is_empty() {
                    let i = rng.below(frame.len());
                    frame[i] ^= 1 << rng.below(8);
                }
            }
        }
        // Overwrite random bytes anywhere.
        1 => {
            for _ in 0..1 + rng.below(8) {
                if !frame.is_empty() {
                    let i = rng.below(frame.len());
                    frame[i] = rng.byte();
                }
            }
        }
        // Length prefix: extreme or random.
        2 => {
            let actual = frame.len() as i64 - 4;
            let v = extreme(rng, actual);
            write_field(frame, 0, 4, v);
        }
        // Whole mark: extreme, or a random serialize-type byte.
        3 => {
            if rng.chance(2) {
                let v = extreme(rng, header_len as i64);
                write_field(frame, 4, 4, v);
            } else if frame.len() > 4 {
                frame[4] = *rng.pick(&[0, 1, 2, 0x7F, 0x80, 0xFF]);
            }
        }
        // Header length only (the low 24 bits of the mark).
        4 => {
            if frame.len() >= 8 {
                let v = (extreme(rng, header_len as i64) as u32) & 0x00FF_FFFF;
                let mark = (u32::from(frame[4]) << 24) | v;
                frame[4..8].copy_from_slice(&mark.to_be_bytes());
            }
        }
        // A length inside the binary header (remark, ext, key, value); or, for JSON, a
        // JSON-significant byte inside the header with prefix and mark kept consistent.
        5 | 6 => {
            if !length_fields.is_empty() {
                let &(at, width) = rng.pick(length_fields);
                if at + width <= frame.len() {
                    let actual = read_field(frame, at, width);
                    let v = extreme(rng, actual);
                    write_field(frame, at, width, v);
                }
            } else if header_len > 0 && frame.len() >= 8 + header_len {
                let i = 8 + rng.below(header_len);
                frame[i] = *rng.pick(JSON_BYTES);
            }
        }
        // Truncate.
        7 => {
            let keep = rng.below(frame.len() + 1);
            frame.truncate(keep);
        }
        // Append garbage (possibly the start of another frame).
        8 => {
            let len = 1 + rng.below(32);
            let garbage = rng.bytes(len);
            frame.extend_from_slice(&garbage);
        }
        // Insert or delete bytes inside the header, then fix prefix and header length so the
        // header parser (not the length check) sees the damage.
        9 => {
            if header_len > 0 && frame.len() >= 8 + header_len {
                let i = 8 + rng.below(header_len);
                let new_len = if rng.chance(2) {
                    frame.remove(i);
                    header_len - 1
                } else {
                    let b = if rng.chance(2) {
                        *rng.pick(JSON_BYTES)
                    } else {
                        rng.byte()
                    };
                    frame.insert(i, b);
                    header_len + 1
                };
                fix_lengths(frame, new_len);
            }
        }
        // Random bytes in the header with consistent lengths.
        _ => {
            if header_len > 0 && frame.len() >= 8 + header_len {
                for _ in 0..1 + rng.below(3) {
                    let i = 8 + rng.below(header_len);
                    frame[i] = rng.byte();
                }
                fix_lengths(frame, header_len);
            }
        }
    }
}

fn length_fields_of(frame: &[u8]) -> Vec<(usize, usize)> {
    if frame[4] == SerializeType::RocketMq.code() {
        binary_length_fields(frame)
    } else {
        Vec::new()
    }
}

/// Mutates `bases` `count` times (1 to 3 stacked mutations each) and checks every result.
fn fuzz_mutations(label: &str, seed: u64, salt: u64, bases: &[Vec<u8>], count: usize) -> usize {
    let mut rng = Rng::new(seed ^ salt);
    let fields: Vec<Vec<(usize, usize)>> = bases.iter().map(|f| length_fields_of(f)).collect();
    let mut decoded = 0;
    for case in 0..count {
        let which = rng.below(bases.len());
        let mut input = bases[which].clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut input, &fields[which]);
        }
        if run_case(seed, label, case, &input) {
            decoded += 1;
        }
    }
    decoded
}

// -------------------------------------------------------------------------------- tests

#[test]
fn random_byte_strings() {
    let seed = seed();
    let mut rng = Rng::new(seed);
    let count = RANDOM_INPUTS * scale();
    for case in 0..count {
        let len = rng.below(512);
        let mut input = rng.bytes(len);
        // Give a third of them a plausible prefix and mark so they get past the length check.
        if len >= 8 && rng.chance(3) {
            let total = (len - 4) as i32;
            input[..4].copy_from_slice(&total.to_be_bytes());
            input[4] = rng.below(2) as u8;
            input[5] = 0;
            if rng.chance(2) {
                let header_len = rng.below(len - 7) as u16;
                input[6..8].copy_from_slice(&header_len.to_be_bytes());
                if input[4] == 0 && header_len > 0 {
                    input[8] = b'{';
                }
            }
        }
        run_case(seed, "random", case, &input);
    }
}

#[test]
fn mutated_fixture_frames() {
    let seed = seed();
    let frames = fixture_frames();
    // The unmutated fixtures pass the oracle too.
    for (i, f) in frames.iter().enumerate() {
        assert!(
            run_case(seed, "fixture", i, f),
            "fixture {i} does not decode"
        );
    }
    let decoded = fuzz_mutations(
        "fixture-mutation",
        seed,
        0xF1,
        &frames,
        FIXTURE_MUTATIONS * scale(),
    );
    // Sanity: the mutations are not all rejected at the length check (else the header
    // parsers would go untested) and not all harmless.
    assert!(
        decoded > FIXTURE_MUTATIONS * scale() / 50,
        "only {decoded} mutants decoded"
    );
    assert!(
        decoded < FIXTURE_MUTATIONS * scale(),
        "every mutant decoded"
    );
}

#[test]
fn mutated_encoded_frames() {
    let seed = seed();
    let mut rng = Rng::new(seed ^ 0xE2);
    let mut frames = Vec::new();
    // Fixed frames with ext fields, remarks and bodies in both header types...
    for st in [SerializeType::Json, SerializeType::RocketMq] {
        let cmd = RemotingCommand::new_request(310)
            .with_ext("a", "producer_group")
            .with_ext("b", "TopicTest")
            .with_ext("i", "KEYS\u{1}k\u{2}TAGS\u{1}TagA")
            .with_remark("remark \"quoted\"")
            .with_body(b"Hello RocketMQ".to_vec())
            .with_serialize_type(st);
        frames.push(cmd.encode().unwrap());
        frames.push(
            RemotingCommand::success()
                .with_serialize_type(st)
                .encode()
                .unwrap(),
        );
    }
    // ...and random ones.
    while frames.len() < 200 {
        frames.push(random_command(&mut rng).encode().unwrap());
    }
    let st = |f: &Vec<u8>| f[4];
    assert!(frames.iter().filter(|f| st(f) == 0).count() > 50);
    assert!(frames.iter().filter(|f| st(f) == 1).count() > 50);
    let count = GENERATED_MUTATIONS * scale();
    let decoded = fuzz_mutations("encoded-mutation", seed, 0xE2, &frames, count);
    assert!(decoded > count / 50, "only {decoded} mutants decoded");
    assert!(decoded < count, "every mutant decoded");
}

#[test]
fn random_commands_round_trip() {
    let seed = seed();
    let mut rng = Rng::new(seed ^ 0xD3);
    for case in 0..ROUND_TRIPS * scale() {
        let cmd = random_command(&mut rng);
        let bytes = cmd.encode().unwrap();
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let (back, used) = decode_first_frame(&bytes, MAX_FRAME).unwrap().unwrap();
            assert_eq!(used, bytes.len());
            assert_eq!(back, cmd);
            // A byte short is incomplete; a byte more is left for the next frame.
            assert_eq!(
                decode_first_frame(&bytes[..bytes.len() - 1], MAX_FRAME),
                Ok(None)
            );
            let mut longer = bytes.clone();
            longer.push(0xAB);
            let (again, used) = decode_first_frame(&longer, MAX_FRAME).unwrap().unwrap();
            assert_eq!((again, used), (cmd.clone(), bytes.len()));
            // A binary header re-encodes to the same bytes.
            if cmd.serialize_type == SerializeType::RocketMq {
                assert_eq!(back.encode().unwrap(), bytes);
            }
        }));
        if let Err(payload) = result {
            eprintln!(
                "decoder_fuzz FAILED: seed={seed:#x} (DECODER_FUZZ_SEED={seed}) round-trip case {case}\ncommand: {cmd:?}\n\
                 frame: {}",
                hex(&bytes)
            );
            panic::resume_unwind(payload);
        }
    }
}

#[test]
fn huge_length_prefix_is_rejected_before_reading() {
    // Claims 2^31 - 1 bytes, only 8 present: rejected from the prefix alone.
    let mut input = i32::MAX.to_be_bytes().to_vec();
    input.extend_from_slice(&[0, 0, 0, 2]);
    assert_eq!(input.len(), 8);
    for max in [MAX_FRAME, DEFAULT_MAX_FRAME_LENGTH] {
        assert!(
            matches!(
                decode_first_frame(&input, max),
                Err(DecodeError::FrameTooLarge { length, max: m })
                    if length == i32::MAX as usize + 4 && m == max
            ),
            "max {max}: {:?}",
            decode_first_frame(&input, max)
        );
        assert!(matches!(
            frame_length(i32::MAX.to_be_bytes(), max),
            Err(DecodeError::FrameTooLarge { .. })
        ));
    }
    assert!(matches!(
        decode_first_frame(&input, DEFAULT_MAX_FRAME_LENGTH),
        Err(DecodeError::FrameTooLarge { .. })
    ));
    // Negative and too-small lengths are typed errors too.
    for bad in [-1i32, 0, 3, i32::MIN, i16::MIN as i32] {
        let mut input = bad.to_be_bytes().to_vec();
        input.extend_from_slice(&[0, 0, 0, 2]);
        assert_eq!(
            decode_first_frame(&input, MAX_FRAME),
            Err(DecodeError::InvalidFrameLength(bad as i64))
        );
    }
}

#[test]
fn prng_is_deterministic() {
    let mut a = Rng::new(DEFAULT_SEED);
    let mut b = Rng::new(DEFAULT_SEED);
    let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
    let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
    assert_eq!(xs, ys);
    // Not stuck, and not a short cycle.
    let distinct: std::collections::BTreeSet<u64> = xs.iter().copied().collect();
    assert_eq!(distinct.len(), 100);
    assert_ne!(Rng::new(0).next_u64(), 0);
}
