//! Throughput of the value-level template functions on the rendering hot path: printing
//! numbers and dates, escaping strings, and the slower parsing paths for comparison.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sluice::template::Number;
use sluice::template::date::{DateFormat, DateKind, DatePattern, DateValue, IsoOptions, TimeZone};
use sluice::template::text;

fn numbers(c: &mut Criterion) {
    let timestamp = Number::from(1_700_000_000_123_i64);
    let price = Number::parse_literal("29.99").unwrap();
    let big = Number::parse_literal("123456789012345678901234567890.125").unwrap();
    let mut out = String::with_capacity(64);
    c.bench_function("number/computer_long", |b| {
        b.iter(|| {
            out.clear();
            black_box(&timestamp).write_computer(&mut out);
        })
    });
    c.bench_function("number/computer_decimal", |b| {
        b.iter(|| {
            out.clear();
            black_box(&price).write_computer(&mut out);
        })
    });
    c.bench_function("number/computer_big", |b| {
        b.iter(|| {
            out.clear();
            black_box(&big).write_computer(&mut out);
        })
    });
    c.bench_function("number/parse_literal_decimal", |b| {
        b.iter(|| Number::parse_literal(black_box("1234.5678")))
    });
    let thousand = Number::from(1000_i64);
    c.bench_function("number/seconds_to_millis", |b| {
        b.iter(|| black_box(&price).mul(black_box(&thousand)))
    });
    c.bench_function("number/divide", |b| {
        b.iter(|| black_box(&timestamp).div(black_box(&thousand)))
    });
    let pattern = sluice::template::number::NumberFormat::parse("#,##0.00").unwrap();
    c.bench_function("number/pattern", |b| {
        b.iter(|| {
            out.clear();
            black_box(&price).write_format(&pattern, &mut out);
        })
    });
}

fn dates(c: &mut Criterion) {
    let value = DateValue::new(1_700_000_000_123, DateKind::DateTime);
    let utc = TimeZone::utc();
    let berlin = TimeZone::from_setting("Europe/Berlin");
    let pattern = DatePattern::parse("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").unwrap();
    let mut out = String::with_capacity(64);
    c.bench_function("date/iso_utc_ms", |b| {
        b.iter(|| {
            out.clear();
            black_box(&value).write_iso(&utc, IsoOptions::ISO_UTC_MS, &mut out).unwrap();
        })
    });
    c.bench_function("date/pattern_berlin", |b| {
        b.iter(|| {
            out.clear();
            black_box(&value).write_pattern(&pattern, &berlin, &mut out).unwrap();
        })
    });
    let event_time = DateFormat::parse("yyyy-MM-dd HH:mm:ss.SSS").unwrap();
    c.bench_function("date/parse_event_time", |b| {
        b.iter(|| {
            event_time.parse_text(black_box("2022-02-28 20:07:01.795"), DateKind::DateTime, &utc, 0)
        })
    });
    let iso = DateFormat::parse("iso").unwrap();
    c.bench_function("date/parse_iso", |b| {
        b.iter(|| {
            iso.parse_text(black_box("2024-01-02T03:04:05.678Z"), DateKind::DateTime, &utc, 0)
        })
    });
}

fn strings(c: &mut Criterion) {
    let plain = "user_12345@example.com signed up from the landing page";
    let escaped = "He said \"hi\"\n</script> — ünïcödé 😀";
    let mut out = String::with_capacity(128);
    c.bench_function("text/json_string_plain", |b| {
        b.iter(|| {
            out.clear();
            text::json_string(black_box(plain), &mut out);
        })
    });
    c.bench_function("text/json_string_escaped", |b| {
        b.iter(|| {
            out.clear();
            text::json_string(black_box(escaped), &mut out);
        })
    });
    c.bench_function("text/url", |b| {
        b.iter(|| {
            out.clear();
            text::url(black_box(escaped), &mut out);
        })
    });
    c.bench_function("text/upper_case", |b| {
        b.iter(|| {
            out.clear();
            text::upper_case(black_box(escaped), &mut out);
        })
    });
    c.bench_function("text/collate", |b| {
        b.iter(|| text::collate(black_box("Résumé builder"), black_box("resume Builder")))
    });
    let flags = text::RegexFlags::parse("r");
    c.bench_function("text/replace_regex", |b| {
        b.iter(|| {
            out.clear();
            text::replace(black_box(plain), "[0-9]+", "#", &flags, &mut out).unwrap();
        })
    });
}

criterion_group!(benches, numbers, dates, strings);
criterion_main!(benches);
