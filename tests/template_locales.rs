//! Checks the errors of `<#setting locale=...>` where the renderer lacks Java's data for a
//! locale: it stops with an error naming the locale instead of printing something FreeMarker
//! would not. The formatting cases are in `tests/template-inputs/oracle/locales.jsonl`. Also
//! checks that such values, and the other `<#setting>` values the renderer can't apply, are
//! rejected at compile time when they are string literals.

use sluice::template::{ErrorKind, Template, Value};

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

#[test]
fn literal_setting_values_rejected_at_compile() {
    let cases = [
        (r#"<#setting locale="de-DE">"#, "\"de-DE\"", "de_DE"),
        (r#"<#setting number_format="0.##E0">"#, "\"0.##E0\"", "without `E`"),
        (r#"<#setting number_format="0.##;; roundingMode=up">"#, "roundingMode=up", "remove them"),
        (r#"<#setting number_format=("0.0.0")>"#, "\"0.0.0\"", "decimal point"),
        (r#"<#setting boolean_format="yes">"#, "\"yes\"", "separated by a comma"),
        (r#"<#setting date_format="iso xyz">"#, "\"iso xyz\"", "Unexpected character"),
        (r#"<#setting output_encoding="ISO-8859-1">"#, "\"ISO-8859-1\"", "UTF-8"),
    ];
    for (setting, value, advice) in cases {
        // The setting sits on line 2, in a branch that never runs.
        let source = format!("ok\n<#if false>{setting}</#if>");
        let error = match Template::compile("settings.ftl", &source) {
            Ok(_) => panic!("{setting} compiled, expected a compile error"),
            Err(error) => error,
        };
        let value_column = setting.find('=').unwrap() + 2 + "<#if false>".len();
        assert_eq!(error.kind(), ErrorKind::Syntax, "{setting}: {error}");
        assert_eq!(error.line(), 2, "{setting}: {error}");
        assert_eq!(error.column(), value_column, "{setting}: {error}");
        assert!(error.detail().contains(value), "{setting}: {error} should name {value}");
        assert!(error.detail().contains(advice), "{setting}: {error} should contain {advice:?}");
    }
}

#[test]
fn setting_expressions_checked_at_render() {
    let template =
        Template::compile("settings.ftl", r#"<#assign l = "de-DE"><#setting locale=l>ok"#)
            .expect("an expression value compiles");
    let error = template.render(&[]).expect_err("the locale can't be applied");
    assert_eq!(error.kind(), ErrorKind::Evaluation);
    assert!(error.detail().contains("\"de-DE\""), "{error}");
}

#[test]
fn applicable_literal_settings_compile() {
    // Java falls back to GMT for an unknown time zone name, and so does the renderer.
    assert_eq!(
        render(r#"<#setting time_zone="Mars/Olympus">${t?number_to_datetime?string("HH:mm z")}"#)
            .unwrap(),
        "22:13 GMT"
    );
    assert_eq!(render(r#"<#setting number_format="">${n}"#).unwrap(), "1,234.5");
    assert_eq!(render(r#"<#setting number_format="0;0">${-n}"#).unwrap(), "-1234");
    assert_eq!(
        render(r#"<#setting locale="de_DE"><#setting number_format="number">${n}"#).unwrap(),
        "1.234,5"
    );
    assert_eq!(
        render(r#"<#setting date_format=""><#setting boolean_format="c">${true}"#).unwrap(),
        "true"
    );
    assert_eq!(render(r#"<#setting url_escaping_charset="utf-8">ok"#).unwrap(), "ok");
}
