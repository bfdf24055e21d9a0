//! The one picture: `quickstart --diagram` draws the first sync send and its consumption
//! from a real run. The SVG must be well-formed XML, and each lane and each request code must
//! appear in the order a send and a pull cross them. The README's copy
//! (`examples/quickstart-send.svg`) is checked against a fresh one: when its shape (the lanes'
//! roles and the frames' codes, section by section) no longer matches, it is rewritten and
//! the test fails, so it never goes stale unnoticed.

#![cfg(feature = "servers")]

mod common;

use std::path::Path;

/// What the diagram must show, in order: the roles of the lanes (writers aside: which thread
/// writes a queued frame depends on timing) and the codes of the frames.
const SEND_LANES: [&str; 8] = [
    "caller",
    "server reader",
    "name server pool",
    "client reader",
    "server reader",
    "processor pool",
    "store",
    "client reader",
];
/// GET_ROUTEINFO_BY_TOPIC for the topic (TOPIC_NOT_EXIST), again for TBW102 (SUCCESS), then
/// SEND_MESSAGE_V2 (SUCCESS).
const SEND_CODES: [&str; 6] = ["105", "17", "105", "0", "310", "0"];
const CONSUME_LANES: [&str; 7] = [
    "pull thread",
    "server reader",
    "processor pool",
    "store",
    "client reader",
    "callback pool",
    "consume pool",
];
/// PULL_MESSAGE, then its SUCCESS (FOUND).
const CONSUME_CODES: [&str; 2] = ["11", "0"];

#[test]
fn quickstart_draws_the_first_send_and_its_consumption_and_the_readme_copy_is_current() {
    let dir = common::TempDir::created("trace-diagram");
    let fresh_path = dir.0.join("send.svg");
    let (code, lines) =
        common::run_example("quickstart", &["--diagram", fresh_path.to_str().unwrap()]);
    assert_eq!(code, 0, "{lines:?}");
    assert!(
        lines.last().unwrap().starts_with("quickstart OK:"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("diagram of the first sync send")),
        "{lines:?}"
    );
    let fresh = std::fs::read_to_string(&fresh_path).unwrap();
    check_well_formed(&fresh).unwrap_or_else(|e| panic!("not well-formed XML: {e}"));

    let shape = shape_of(&fresh);
    assert_eq!(shape.len(), 2, "two sections: {shape:?}");
    let (send_lanes, send_codes) = &shape[0];
    assert_eq!(send_lanes, &SEND_LANES, "the send's lanes");
    assert_eq!(send_codes, &SEND_CODES, "the send's frames");
    let (consume_lanes, consume_codes) = &shape[1];
    assert_eq!(consume_lanes, &CONSUME_LANES, "the consumption's lanes");
    assert_eq!(consume_codes, &CONSUME_CODES, "the consumption's frames");
    // Every step the picture draws is a row with its text.
    assert!(fresh.contains("[app] producer.send(&quot;sync message 0&quot;) begins"));
    assert!(fresh.contains("[app] the listener got &quot;sync message 0&quot;"));
    assert!(fresh.contains("[store] put 1 message(s) of QuickstartTopic"));

    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart-send.svg");
    let current = std::fs::read_to_string(&committed)
        .ok()
        .filter(|svg| check_well_formed(svg).is_ok() && shape_of(svg) == shape);
    if current.is_none() {
        std::fs::create_dir_all(committed.parent().unwrap()).unwrap();
        std::fs::write(&committed, &fresh).unwrap();
        panic!(
            "{} did not match a fresh run in shape; it was rewritten: commit it",
            committed.display()
        );
    }
}

type Shape = Vec<(Vec<String>, Vec<String>)>;

/// Per section: the roles of its lanes (writers left out) and the codes of its frames.
fn shape_of(svg: &str) -> Shape {
    svg.split("<g class=\"section\">")
        .skip(1)
        .map(|section| {
            let roles = attribute_values(section, "data-role")
                .into_iter()
                .filter(|r| r != "connection writer")
                .collect();
            (roles, attribute_values(section, "data-code"))
        })
        .collect()
}

fn attribute_values(text: &str, name: &str) -> Vec<String> {
    let needle = format!("{name}=\"");
    text.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &text[at + needle.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_string()
        })
        .collect()
}

/// A small XML well-formedness check (no DTD): one root element; tags nest and close in
/// order; attributes are quoted and unique per element; `&` starts a known entity or a
/// character reference; no `<` in text or attribute values.
fn check_well_formed(xml: &str) -> Result<(), String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut rest = xml.trim_start();
    if let Some(after) = rest.strip_prefix("<?xml") {
        rest = &after[after.find("?>").ok_or("unclosed XML declaration")? + 2..];
    }
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            check_text(rest)?;
            break;
        };
        check_text(&rest[..lt])?;
        if stack.is_empty() && !rest[..lt].trim().is_empty() {
            return Err("text outside the root element".into());
        }
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = &after[after.find("-->").ok_or("unclosed comment")? + 3..];
            continue;
        }
        let gt = rest.find('>').ok_or("unclosed tag")?;
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name.trim() => continue,
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        }
        let (body, empty) = match tag.strip_suffix('/') {
            Some(body) => (body, true),
            None => (tag, false),
        };
        let name_end = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
        let name = &body[..name_end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || "-_:.".contains(c))
        {
            return Err(format!("bad element name in <{tag}>"));
        }
        check_attributes(&body[name_end..]).map_err(|e| format!("<{name}>: {e}"))?;
        if stack.is_empty() {
            roots += 1;
        }
        if !empty {
            stack.push(name);
        }
    }
    match (stack.last(), roots) {
        (Some(open), _) => Err(format!("<{open}> never closed")),
        (None, 1) => Ok(()),
        (None, n) => Err(format!("{n} root elements")),
    }
}

fn check_attributes(mut text: &str) -> Result<(), String> {
    let mut seen: Vec<&str> = Vec::new();
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return Ok(());
        }
        let eq = text
            .find('=')
            .ok_or_else(|| format!("attribute without a value: {text}"))?;
        let name = text[..eq].trim();
        if name.is_empty() || name.contains(char::is_whitespace) || seen.contains(&name) {
            return Err(format!("bad or repeated attribute {name:?}"));
        }
        seen.push(name);
        let after = text[eq + 1..].trim_start();
        let quote = after.chars().next().filter(|q| *q == '"' || *q == '\'');
        let quote = quote.ok_or_else(|| format!("unquoted value of {name}"))?;
        let close = after[1..]
            .find(quote)
            .ok_or_else(|| format!("unclosed value of {name}"))?;
        let value = &after[1..1 + close];
        if value.contains('<') {
            return Err(format!("'<' in the value of {name}"));
        }
        check_text(value)?;
        text = &after[close + 2..];
    }
}

fn check_text(text: &str) -> Result<(), String> {
    if text.contains('>') && text.contains("]]>") {
        return Err("']]>' in text".into());
    }
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        let after = &rest[amp + 1..];
        let semi = after.find(';').ok_or("'&' without ';'")?;
        let entity = &after[..semi];
        let known = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
            || entity
                .strip_prefix("#x")
                .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            || entity
                .strip_prefix('#')
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
        if !known {
            return Err(format!("unknown entity &{entity};"));
        }
        rest = &after[semi + 1..];
    }
    if text
        .chars()
        .any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err("a control character".into());
    }
    Ok(())
}

#[test]
fn the_well_formedness_check_can_fail() {
    for bad in [
        "<svg><g></svg>",
        "<svg a=\"1\" a=\"2\"/>",
        "<svg a=1/>",
        "<svg>&nbsp;</svg>",
        "<svg/><svg/>",
        "<svg><text>a < b</text></svg>",
        "<svg>\u{1}</svg>",
    ] {
        assert!(check_well_formed(bad).is_err(), "{bad}");
    }
    assert!(check_well_formed(
        "<?xml version=\"1.0\"?><svg x='1'><g/><!-- c --><t>&amp;&#38;</t></svg>"
    )
    .is_ok());
}
