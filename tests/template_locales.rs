//! Checks the errors of `<#setting locale=...>` where the renderer lacks Java's data for a
//! locale: it stops with an error naming the locale instead of printing something FreeMarker
//! would not. The formatting cases are in `tests/template-inputs/oracle/locales.jsonl`.

use sluice::template::{Template, Value};

fn render(source: &str) -> Result<String, String> {
    let data = Value::from_json_str(r#"{"t": 1700000000123, "s": ["b", "a"], "n": 1234.5}"#)
        .expect("the data is valid JSON");
    let vars: Vec<(&str, &Value)> =
        data.as_hash().expect("an object").iter().map(|(k, v)| (k.as_str(), v)).collect();
    Template::compile("locale.ftl", source)
        .and_then(|template| template.render(&vars))
        .map_err(|error| error.to_string())
}

fn rejected(source: &str, expected: &[&str]) {
    let message = render(source).expect_err("the template must be rejected");
    for part in expected {
        assert!(message.contains(part), "{message:?} should contain {part:?}");
    }
}

#[test]
fn unknown_locales_rejected_by_name() {
    rejected(r#"<#setting locale="xx_YY">${n}"#, &["\"xx_YY\"", "not supported"]);
    // FreeMarker reads a dash as part of an unknown language name and formats as Java's root
    // locale, not as German.
    rejected(r#"<#setting locale="de-DE">${n}"#, &["\"de-DE\"", "de_DE"]);
}

#[test]
fn zone_names_exist_only_in_en_us() {
    rejected(r#"<#setting locale="de_DE">${t?number_to_datetime?string("zzzz")}"#, &["de_DE"]);
    assert_eq!(
        render(r#"<#setting locale="en_US">${t?number_to_datetime?string("zzzz")}"#).unwrap(),
        "Coordinated Universal Time"
    );
}

#[test]
fn string_collation_only_in_english() {
    rejected(r#"<#setting locale="de_DE">${s?sort?join(",")}"#, &["de_DE", "?sort"]);
    rejected(r#"<#setting locale="fr_FR">${("é" == "e")?c}"#, &["fr_FR"]);
    assert_eq!(render(r#"<#setting locale="en_GB">${s?sort?join(",")}"#).unwrap(), "a,b");
    // Printable ASCII strings compare the same under every collation.
    assert_eq!(
        render(r#"<#setting locale="de_DE">${("ab" == "ab")?c} ${("ab" == "Ab")?c}"#).unwrap(),
        "true false"
    );
}

#[test]
fn en_us_again_restores_formats() {
    assert_eq!(
        render(
            r##"<#setting number_format="#,##0.00"><#setting locale="de_DE">${n} <#setting locale="en_US">${n}"##
        )
        .unwrap(),
        "1.234,50 1,234.50"
    );
}
