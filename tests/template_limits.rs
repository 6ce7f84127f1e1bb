//! Hostile templates and data: each must end in a limit or other template error, never in a
//! stack overflow, a hang or unbounded memory. Inputs are generated here, so no large files are
//! checked in.

use sluice::template::{ErrorKind, Limits, Template, TemplateError, Value};

/// Runs `f` on a thread with a 2 MiB stack, the size of a Tokio worker thread's stack, so a
/// recursion that would overflow a worker overflows here too.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("the thread starts")
        .join()
        .expect("the thread does not panic")
}

/// Compiles `source` on a small stack and returns the compile error.
fn compile_error(source: String) -> TemplateError {
    on_small_stack(move || match Template::compile("hostile", &source) {
        Ok(_) => panic!("the template compiled, expected a limit error"),
        Err(error) => error,
    })
}

/// Compiles and renders `source` with `limits` and returns the render error.
fn render_error(source: &str, limits: Limits) -> TemplateError {
    let source = source.to_owned();
    on_small_stack(move || {
        let template = Template::compile_with_limits("hostile", &source, limits)
            .expect("the template compiles");
        let mut out = String::new();
        let error = template.render_to(&[], &mut out).expect_err("the render fails");
        assert!(out.is_empty(), "a failed render leaves the buffer empty");
        error
    })
}

/// Joins `count` copies of `term` with `separator`.
fn chain(term: &str, separator: &str, count: usize) -> String {
    vec![term; count].join(separator)
}

#[test]
fn long_operator_chains_are_limit_errors() {
    let terms = 100_000;
    let cases = [
        ("+", format!("${{{}}}", chain("1", "+", terms))),
        ("*", format!("${{{}}}", chain("1", "*", terms))),
        ("&&", format!("${{({})?c}}", chain("true", "&&", terms))),
        ("||", format!("${{({})?c}}", chain("1==1", "||", terms))),
        ("prefix !", format!("${{({}true)?c}}", "!".repeat(terms))),
        (".", format!("${{a{}!}}", ".b".repeat(terms))),
        ("[]", format!("${{a{}!}}", "[0]".repeat(terms))),
        ("?", format!("${{\"a\"{}}}", "?trim".repeat(terms))),
        ("??", format!("${{(a{})?c}}", "??".repeat(terms))),
        ("default !", format!("${{{}}}", chain("x", "!", terms))),
        ("lambda", {
            let open = "[1]?filter(x -> ".repeat(terms);
            format!("${{{open}true{}?size}}", ")".repeat(terms))
        }),
    ];
    for (operator, source) in cases {
        let error = compile_error(source);
        assert_eq!(error.kind(), ErrorKind::Limit, "chain of {operator}: {error}");
        assert!(error.to_string().contains("nesting deeper than"), "chain of {operator}: {error}");
    }
}

#[test]
fn operator_chain_within_limit_renders() {
    let source = format!("${{{}}}", chain("1", "+", 90));
    let output = on_small_stack(move || {
        Template::compile("chain", &source).expect("compiles").render(&[]).expect("renders")
    });
    assert_eq!(output, "90");
}

#[test]
fn chain_inside_parentheses_counts_both() {
    let depth = Limits::default().max_depth;
    let inner = chain("1", "+", depth / 2 + 1);
    let source = format!("${{{}{inner}{}}}", "(".repeat(depth / 2), ")".repeat(depth / 2));
    let error = compile_error(source);
    assert_eq!(error.kind(), ErrorKind::Limit);
}

#[test]
fn long_single_line_template_compiles() {
    // Each token's column used to be counted from the start of its line, which made a
    // template on one long line compile in quadratic time.
    let directives = 200_000;
    let source = "<#assign a = 1>".repeat(directives) + "${a}";
    let output = Template::compile("long_line", &source)
        .expect("the template compiles")
        .render(&[])
        .expect("the template renders");
    assert_eq!(output, "1");
}

#[test]
fn error_on_long_line_has_the_right_column() {
    let prefix = "x".repeat(100_000);
    let source = format!("{prefix}${{1 +}}");
    let error = Template::compile("column", &source).unwrap_err();
    assert_eq!(error.line(), 1);
    assert_eq!(error.column(), 100_000 + 6);
}

/// Returns the default limits with the time limit raised to an hour, so that a test expecting
/// another limit gets it even on a loaded machine.
fn untimed() -> Limits {
    Limits { max_render_time: std::time::Duration::from_secs(3600), ..Limits::default() }
}

/// Returns [`untimed`] limits with `max_built_bytes` lowered to 1 MiB, so tests stay small.
fn small_built_bytes() -> Limits {
    Limits { max_built_bytes: 1 << 20, ..untimed() }
}

/// Asserts that `error` is the limit on built bytes.
fn assert_built_bytes_error(error: &TemplateError, case: &str) {
    assert_eq!(error.kind(), ErrorKind::Limit, "{case}: {error}");
    assert!(error.detail().contains("bytes of strings"), "{case}: {error}");
}

#[test]
fn string_doubling_is_a_limit_error() {
    let source = r#"<#assign s = "x"><#list 1..64 as i><#assign s = s + s></#list>${s?length}"#;
    let error = render_error(source, untimed());
    assert_built_bytes_error(&error, "s + s");
    assert_eq!(error.line(), 1);
}

#[test]
fn capture_doubling_is_a_limit_error() {
    let source =
        r#"<#assign s = "x"><#list 1..64 as i><#assign s>${s}${s}</#assign></#list>${s?length}"#;
    let error = render_error(source, untimed());
    assert_eq!(error.kind(), ErrorKind::Limit, "{error}");
}

#[test]
fn replace_growth_is_a_limit_error() {
    let cases = [
        (
            "doubling in a loop",
            r#"<#assign s = "x"><#list 1..64 as i><#assign s = s?replace("x", "xx")></#list>"#,
        ),
        ("empty search", r#"${"x"?left_pad(100000)?replace("", "y"?left_pad(100000))?length}"#),
        (
            "regular expression",
            r#"${"x"?left_pad(100000)?replace(".", "$0$0$0$0$0$0$0$0$0$0$0$0", "r")}"#,
        ),
    ];
    for (case, source) in cases {
        let error = render_error(source, small_built_bytes());
        assert_built_bytes_error(&error, case);
    }
}

#[test]
fn replace_within_limit_renders() {
    let source = r#"${"a-b-c"?replace("-", "+")} ${"a1b22"?replace("[0-9]+", "<$0>", "r")}"#;
    let template = Template::compile_with_limits("replace", source, small_built_bytes()).unwrap();
    assert_eq!(template.render(&[]).unwrap(), "a+b+c a<1>b<22>");
}

#[test]
fn large_string_reads_are_limited() {
    // Reading an assigned string copies it, so a million reads of a 256 KiB string would copy
    // 256 GiB.
    let source = r#"<#assign s = "x"?left_pad(262144)><#list 1..1000000 as i>${s?length}</#list>"#;
    let error = render_error(source, small_built_bytes());
    assert_built_bytes_error(&error, "reads of s");
}

#[test]
fn growing_collections_are_limit_errors() {
    let big = r#"<#assign s = "x"?left_pad(262144)>"#;
    let cases = [
        (
            "sequence +",
            format!("{big}<#assign q = [s]><#list 1..1000 as i><#assign q = q + []></#list>"),
        ),
        (
            "sequence listing",
            format!("{big}<#assign q = [s]><#list 1..1000 as i><#list q as x></#list></#list>"),
        ),
        (
            "sequence ?reverse",
            format!("{big}<#assign q = [s, s]><#list 1..1000 as i>${{q?reverse?size}}</#list>"),
        ),
        (
            "sequence slice",
            format!("{big}<#assign q = [s, s]><#list 1..1000 as i>${{q[0..1]?size}}</#list>"),
        ),
        (
            "hash +",
            format!(
                "{big}<#assign h = {{\"a\": s}}><#list 1..1000 as i><#assign h = h + {{}}></#list>"
            ),
        ),
    ];
    for (case, source) in cases {
        let error = render_error(&source, small_built_bytes());
        assert_built_bytes_error(&error, case);
    }
}

#[test]
fn hash_merge_counts_iterations() {
    let source = r#"<#assign h = {}><#list 1..100000 as i><#assign h = h + {i?c: i}></#list>"#;
    let limits = Limits { max_iterations: 50_000, ..untimed() };
    let error = render_error(source, limits);
    assert_eq!(error.kind(), ErrorKind::Limit);
    assert!(error.detail().contains("loop iterations"), "{error}");
}

#[test]
fn render_time_limit_is_a_limit_error() {
    let limits = Limits { max_render_time: std::time::Duration::ZERO, ..Limits::default() };
    let error = render_error("<#list 1..100000 as i>${i}</#list>", limits);
    assert_eq!(error.kind(), ErrorKind::Limit);
    assert!(error.detail().contains("took longer than 0 ms"), "{error}");
}

#[test]
fn large_data_string_renders_without_counting_copies() {
    // Data strings are borrowed, so reading one many times builds nothing.
    let text = "x".repeat(1 << 20);
    let data = Value::from_json_str(&format!(r#"{{"s": "{text}"}}"#)).unwrap();
    let template = Template::compile_with_limits(
        "data",
        "<#list 1..100 as i>${input.s?length}</#list>",
        small_built_bytes(),
    )
    .unwrap();
    let output = template.render(&[("input", &data)]).unwrap();
    assert_eq!(output, "1048576".repeat(100));
}

#[test]
fn deeply_nested_json_data_is_rejected() {
    let depth = 100_000;
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let error = on_small_stack(move || Value::from_json_str(&text).unwrap_err().to_string());
    assert!(error.contains("recursion limit exceeded"), "{error}");
}

#[test]
fn constructs_at_limit_fit_small_stack() {
    // Each construct nested as deep as the parser allows must compile, render and drop on a
    // 2 MiB stack in an unoptimised build.
    let depth = Limits::default().max_depth - 2;
    let nest = |open: &str, inner: &str, close: &str| {
        format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
    };
    let cases = [
        ("list", nest("<#list 1..1 as i>", "x", "</#list>")),
        ("compress", nest("<#compress>", "x", "</#compress>")),
        ("capture", nest("<#assign c>", "x", "</#assign>")),
        ("switch", nest("<#switch 1><#case 1>", "x", "</#switch>")),
        ("sequence", format!("${{{}?size}}", nest("[", "1", "]"))),
        ("hash", format!("${{{}?size}}", nest("{'a':", "1", "}"))),
        // A lambda costs two levels: its built-in and its body.
        ("lambda", {
            let levels = depth / 2;
            let open = "[1]?map(x -> ".repeat(levels);
            format!("${{{open}[1]{}?size}}", ")".repeat(levels))
        }),
        // A default costs two levels: its `!` and the default expression.
        ("default", format!("${{{}!\"d\"}}", chain("x", "!", depth / 2 - 1))),
        ("plus", format!("${{{}}}", chain("1", "+", depth))),
        ("dot", format!("${{(a{})!}}", ".b".repeat(depth))),
        ("built-in", format!("${{\"a\"{}}}", "?trim".repeat(depth))),
    ];
    for (construct, source) in cases {
        let result = on_small_stack(move || {
            let template = Template::compile("nested", &source).map_err(|e| e.to_string())?;
            template.render(&[]).map(|_| ()).map_err(|e| e.to_string())
        });
        assert_eq!(result, Ok(()), "{construct} nested {depth} deep");
    }
}

#[test]
fn matches_with_many_groups_is_limited() {
    // One match per character, each with 50 groups to copy.
    let groups = 50;
    let pattern = format!("{}.{}", "(".repeat(groups), ")".repeat(groups));
    let source = format!(r#"${{"x"?left_pad(100000)?matches("{pattern}")?size}}"#);
    let limits = Limits { max_iterations: 10_000, ..untimed() };
    let error = render_error(&source, limits);
    assert_eq!(error.kind(), ErrorKind::Limit, "{error}");
    assert!(error.detail().contains("loop iterations"), "{error}");
}

#[test]
fn matches_within_limits_renders() {
    let source = r#"<#list "a1b22"?matches("[a-z]([0-9]+)") as m>${m}=${m?groups[1]};</#list>"#;
    let template = Template::compile("matches", source).unwrap();
    assert_eq!(template.render(&[]).unwrap(), "a1=1;b22=22;");
}

#[test]
fn regex_scan_stops_at_time_limit() {
    // Each search for `a(?:.*z)?` scans to the end of the string, so finding every match takes
    // time quadratic in its length. The match loop checks the render's deadline.
    let limits = Limits { max_render_time: std::time::Duration::ZERO, ..Limits::default() };
    let cases = [
        r#"${"a"?left_pad(1000, "a")?matches("a(?:.*z)?")?size}"#,
        r#"${"a"?left_pad(1000, "a")?replace("a(?:.*z)?", "b", "r")}"#,
        r#"${"a"?left_pad(1000, "a")?split("a(?:.*z)?", "r")?size}"#,
    ];
    for source in cases {
        let error = render_error(source, limits);
        assert_eq!(error.kind(), ErrorKind::Limit, "{source}: {error}");
        assert!(error.detail().contains("ran past the render's time limit"), "{source}: {error}");
    }
}

#[test]
fn regex_scan_within_time_limit_renders() {
    let source = r#"${"a"?left_pad(1000, "a")?matches("a(?:.*z)?")?size}"#;
    let template = Template::compile_with_limits("regex", source, untimed()).unwrap();
    assert_eq!(template.render(&[]).unwrap(), "1000");
}

/// Renders `source` with a render time limit of 50 ms on a small stack and returns the error.
/// The test fails if no result arrives within a minute: that guard keeps a hang from stalling
/// the suite and does not measure speed.
fn regex_time_limit_error(source: &str) -> TemplateError {
    let limits = Limits { max_render_time: std::time::Duration::from_millis(50), ..untimed() };
    let owned = source.to_owned();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let template = Template::compile_with_limits("hostile", &owned, limits)
                .expect("the template compiles");
            let _ = sender.send(template.render(&[]));
        })
        .expect("the thread starts");
    match receiver.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(result) => result.expect_err("the render fails"),
        Err(error) => panic!("{source}: no result within 60 s ({error})"),
    }
}

#[test]
fn look_ahead_scan_times_out() {
    // `(?=(a+)+b)` fails at every start position, and each failure scans the rest of the
    // string, so one search over n characters takes time quadratic in n.
    let text = r#""a"?left_pad(200000, "a")"#;
    let cases = [
        format!(r#"${{{text}?matches("(?=(a+)+b)")?size}}"#),
        format!(r#"${{{text}?replace("(?=(a+)+b)", "x", "r")}}"#),
        format!(r#"${{{text}?split("(?=(a+)+b)", "r")?size}}"#),
        format!(r#"${{{text}?keep_after("(?=(a+)+b)", "r")}}"#),
        format!(r#"${{{text}?keep_before_last("(?=(a+)+b)", "r")}}"#),
        format!(r#"${{{text}?keep_after_last("(?=(a+)+b)", "r")}}"#),
    ];
    for source in &cases {
        let error = regex_time_limit_error(source);
        assert_eq!(error.kind(), ErrorKind::Limit, "{source}: {error}");
        assert!(error.detail().contains("ran past the render's time limit"), "{source}: {error}");
        assert!(error.detail().contains("(?=(a+)+b)"), "{source}: {error}");
    }
}

#[test]
fn one_attempt_look_ahead_times_out() {
    // One attempt at the first position repeats `a(?=a*)` once per character, and each
    // look-ahead scans the rest of the string without backtracking.
    let text = r#""a"?left_pad(200000, "a")"#;
    let cases = [
        format!(r#"${{{text}?matches("(?:a(?=a*))*")?c}}"#),
        format!(r#"${{{text}?matches("(?:a(?=a*))*b")?size}}"#),
        format!(r#"${{{text}?replace("(a(?=a*))*$", "x", "r")}}"#),
    ];
    for source in &cases {
        let error = regex_time_limit_error(source);
        assert_eq!(error.kind(), ErrorKind::Limit, "{source}: {error}");
        assert!(error.detail().contains("ran past the render's time limit"), "{source}: {error}");
    }
}

#[test]
fn repeated_searches_time_out() {
    // `?keep_after_last` searches again after every match, and each search for `a(?:.*z)?`
    // scans to the end of the string.
    let source = r#"${"a"?left_pad(200000, "a")?keep_after_last("a(?:.*z)?", "r")}"#;
    let error = regex_time_limit_error(source);
    assert_eq!(error.kind(), ErrorKind::Limit, "{source}: {error}");
    assert!(error.detail().contains("ran past the render's time limit"), "{source}: {error}");
}

#[test]
fn too_much_backtracking_stays_an_evaluation_error() {
    let source = r#"${"a"?left_pad(40, "a")?matches("(a+)+(?=b)c")?c}"#;
    let error = render_error(source, untimed());
    assert_eq!(error.kind(), ErrorKind::Evaluation, "{error}");
    assert!(error.detail().contains("needs too much backtracking"), "{error}");
}

#[test]
fn look_around_within_time_limit_renders() {
    let cases = [
        (r#"${"aab"?replace("(?<=a)(?=b)", "-", "r")}"#, "aa-b"),
        (r#"${"a"?left_pad(2000, "a")?matches("(?=(a+)+b)")?size}"#, "0"),
        (r#"${("a"?left_pad(300, "a") + "b")?matches("(?:a(?=a*b))*b")?c}"#, "true"),
        (r#"<#list "x1 y22"?matches("\\b(\\w)(\\d+)\\b") as m>${m?groups[2]};</#list>"#, "1;22;"),
    ];
    for (source, expected) in cases {
        let template = Template::compile_with_limits("regex", source, untimed()).unwrap();
        assert_eq!(template.render(&[]).unwrap(), expected, "{source}");
    }
}
