//! Random templates and data models drawn from the grammar of the supported FreeMarker subset.
//!
//! The data model has a fixed set of top-level names whose values are random but usually of
//! the type the name suggests (`s1` a string, `n1` a number, `q` a sequence of strings, `h` a
//! nested hash), so most generated expressions are well typed and render. A small share of
//! cases swaps a value for one of another type to exercise the error paths.

use fastrand::Rng;

/// The type an expression generator aims for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Str,
    Num,
    Bool,
    Seq,
    Hash,
    /// A value of unknown type, such as an item of a mixed sequence.
    Any,
}

/// A variable visible at the current point of the template.
#[derive(Debug, Clone)]
struct Scoped {
    name: String,
    ty: Ty,
    /// A loop variable accepts `?index`, `?has_next` and the other loop built-ins.
    is_loop: bool,
}

/// One generated case: a template and the JSON text of its data model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub template: String,
    pub data: String,
}

/// Generates the case numbered `index` of the run with `seed`; the same pair always gives the
/// same case.
pub fn generate(seed: u64, index: u64) -> Case {
    let rng = Rng::with_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
    let mut generator = Generator { rng, depth: 0, scope: Vec::new(), in_loop: false, names: 0 };
    let data = generator.data_model();
    let template = generator.template();
    Case { template, data }
}

struct Generator {
    rng: Rng,
    depth: u32,
    scope: Vec<Scoped>,
    /// True inside `<#list … as …>`, where `<#break>` and `<#continue>` are allowed.
    in_loop: bool,
    /// Counter for fresh variable names.
    names: u32,
}

/// Top-level names of the data model with the type each usually holds.
const ROOT: &[(&str, Ty)] = &[
    ("s1", Ty::Str),
    ("s2", Ty::Str),
    ("n1", Ty::Num),
    ("n2", Ty::Num),
    ("b", Ty::Bool),
    ("q", Ty::Seq),
    ("nq", Ty::Seq),
    ("mq", Ty::Seq),
    ("h", Ty::Hash),
    ("z", Ty::Any),
];

const WORDS: &[&str] = &[
    "a",
    "b",
    "ab",
    "abc",
    "Hello",
    "hello world",
    "x,y",
    "a,b,,c,",
    " pad ",
    "",
    "é",
    "ß",
    "İ",
    "😀",
    "ǅ",
    "Ω",
    "中文",
    "a/b",
    "</script>",
    "<!--",
    "]]>",
    "-->",
    "'q'",
    "\"dq\"",
    "tab\there",
    "line\nbreak",
    "cr\r\n",
    "\\",
    "$",
    "#",
    "{",
    "}",
    "${",
    "1",
    "42",
    "-3",
    "1.50",
    "0.125",
    "1e3",
    " 7 ",
    "true",
    "false",
    "2024-01-02 03:04:05",
    "2023-11-14T22:13:20Z",
    "2024-02-30",
    "AbC dEf",
    "  lead",
    "trail  ",
    "\u{2028}",
    "\u{7f}",
    "\u{1}",
    "x.y.z",
    "a-b_c",
    "%20",
];

const KEYS: &[&str] = &["a", "n", "inner", "list", "k", "empty", "x-y", "é", "flag"];

impl Generator {
    fn chance(&mut self, percent: u32) -> bool {
        self.rng.u32(0..100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.usize(0..items.len())]
    }

    fn fresh_name(&mut self, prefix: &str) -> String {
        self.names += 1;
        format!("{prefix}{}", self.names)
    }

    // ------------------------------------------------------------------ data

    fn data_model(&mut self) -> String {
        let mut fields = Vec::new();
        for (name, ty) in ROOT {
            let ty = if self.chance(5) {
                self.pick(&[Ty::Str, Ty::Num, Ty::Bool, Ty::Seq, Ty::Hash, Ty::Any])
            } else {
                *ty
            };
            let value = match (*name, ty) {
                ("nq", Ty::Seq) => self.json_seq_of(Ty::Num),
                ("mq", Ty::Seq) => self.json_seq_of(Ty::Any),
                ("z", Ty::Any) if self.chance(70) => "null".to_owned(),
                (_, ty) => self.json_value(ty, 2),
            };
            if !self.chance(3) {
                fields.push(format!("{}: {value}", json_quote(name)));
            }
        }
        format!("{{{}}}", fields.join(", "))
    }

    fn json_value(&mut self, ty: Ty, depth: u32) -> String {
        match ty {
            Ty::Str => self.json_string(),
            Ty::Num => self.json_number(),
            Ty::Bool => self.pick(&["true", "false"]).to_string(),
            Ty::Seq => self.json_seq_of(Ty::Str),
            Ty::Hash => self.json_hash(depth),
            Ty::Any => {
                let ty = self.pick(&[Ty::Str, Ty::Num, Ty::Bool, Ty::Any]);
                if ty == Ty::Any { "null".to_owned() } else { self.json_value(ty, depth) }
            }
        }
    }

    fn json_string(&mut self) -> String {
        let mut text = String::new();
        for _ in 0..self.rng.usize(0..3) {
            text.push_str(self.pick(WORDS));
        }
        let mut quoted = json_quote(&text);
        if self.chance(10) {
            // JSON escapes that reach the template decoded: a \u escape and a surrogate pair.
            quoted.insert_str(
                quoted.len() - 1,
                self.pick(&["\\u00e9", "\\ud83d\\ude00", "\\/", "\\u0041"]),
            );
        }
        quoted
    }

    fn json_number(&mut self) -> String {
        let forms: &[&str] = &[
            "0",
            "1",
            "2",
            "3",
            "7",
            "10",
            "-1",
            "-7",
            "42",
            "100",
            "1.5",
            "1.50",
            "-2.5",
            "2.5",
            "0.125",
            "3.14159",
            "1e3",
            "1.5e-7",
            "1E2",
            "-0.0",
            "0.1",
            "1234567.891",
            "9007199254740993",
            "18446744073709551616",
            "1700000000000",
            "1699999999.123",
            "0.0005",
            "12.345678901234567891",
            "-0",
            "1e-20",
            "99.99",
        ];
        self.pick(forms).to_string()
    }

    fn json_seq_of(&mut self, ty: Ty) -> String {
        let len = self.rng.usize(0..5);
        let items: Vec<String> = (0..len).map(|_| self.json_value(ty, 0)).collect();
        format!("[{}]", items.join(", "))
    }

    fn json_hash(&mut self, depth: u32) -> String {
        let mut fields = vec![
            format!("\"a\": {}", self.json_string()),
            format!("\"n\": {}", self.json_number()),
        ];
        if depth > 0 {
            fields.push(format!("\"inner\": {}", self.json_hash(depth - 1)));
        }
        fields.push(format!("\"list\": {}", self.json_seq_of(Ty::Any)));
        if self.chance(60) {
            fields.push("\"k\": null".to_owned());
        }
        if self.chance(40) {
            fields.push("\"empty\": \"\"".to_owned());
        }
        if self.chance(30) {
            fields.push(format!("\"x-y\": {}", self.json_number()));
        }
        if self.chance(30) {
            fields.push(format!("\"flag\": {}", self.pick(&["true", "false"])));
        }
        self.rng.shuffle(&mut fields);
        fields.truncate(self.rng.usize(1..=fields.len()));
        format!("{{{}}}", fields.join(", "))
    }

    // ------------------------------------------------------------------ template

    fn template(&mut self) -> String {
        let mut out = String::new();
        if self.chance(30) {
            out.push_str(self.pick(&["{\n", "  ", "\n", "<#-- header -->\n", "[\n  "]));
        }
        let count = self.rng.usize(1..6);
        for _ in 0..count {
            self.statement(&mut out);
            out.push_str(self.separator());
        }
        out
    }

    fn separator(&mut self) -> &'static str {
        self.pick(&["", "", "\n", "\n  ", "  ", " \n", "\n\n", "\t", "\r\n", ",\n    "])
    }

    fn body(&mut self, out: &mut String) {
        self.depth += 1;
        out.push_str(self.separator());
        let count = if self.depth > 3 { 1 } else { self.rng.usize(1..4) };
        for _ in 0..count {
            self.statement(out);
            out.push_str(self.separator());
        }
        self.depth -= 1;
    }

    fn statement(&mut self, out: &mut String) {
        let nested = self.depth < 3;
        match self.rng.u32(0..100) {
            0..=14 => self.text(out),
            15..=39 => {
                let ty = if self.chance(75) { Ty::Str } else { Ty::Num };
                let expr = self.expr(ty, 0);
                out.push_str(&format!("${{{expr}}}"));
            }
            40..=51 if nested => self.if_directive(out),
            52..=63 if nested => self.list_directive(out),
            64..=71 => self.assign_directive(out),
            72..=74 if nested => self.switch_directive(out),
            75..=76 if nested => {
                out.push_str("<#compress>");
                self.body(out);
                out.push_str("</#compress>");
            }
            77 => out.push_str("<#noparse>${x} <#if> <#-- c --></#noparse>"),
            78..=80 => {
                let text = self.comment_text();
                out.push_str(&format!("<#--{text}-->"));
            }
            81..=82 => {
                let expr = self.expr(Ty::Num, 1);
                let format = self.pick(&["", "; m2", "; M1", "; m1M3"]);
                out.push_str(&format!("#{{{expr}{format}}}"));
            }
            83..=85 => self.setting_directive(out),
            86 if self.in_loop => out.push_str(self.pick(&["<#break>", "<#continue>"])),
            87 if self.chance(20) => {
                let message = self.string_literal();
                out.push_str(&format!("<#stop {message}>"));
            }
            _ => {
                let expr = self.expr(Ty::Str, 0);
                out.push_str(&format!("\"${{{expr}}}\""));
            }
        }
    }

    fn text(&mut self, out: &mut String) {
        let pieces: &[&str] = &[
            "{",
            "}",
            "\"key\": ",
            "[",
            "]",
            ", ",
            "text",
            " ",
            "  ",
            "\n",
            "\t",
            "é",
            "😀",
            "$",
            "#",
            "<",
            ">",
            "@",
            "[#if x]",
            "[=x]",
            "<ann@x.io>",
            "a\r\nb",
            "$ {",
            "# {",
            "<# x>",
            "\\",
            "%",
            "&amp;",
        ];
        for _ in 0..self.rng.usize(1..4) {
            out.push_str(self.pick(pieces));
        }
    }

    fn comment_text(&mut self) -> &'static str {
        self.pick(&[" c ", "", " ${not} <#if> ", "\n multi\n line\n", "-"])
    }

    fn if_directive(&mut self, out: &mut String) {
        let condition = self.expr(Ty::Bool, 0);
        out.push_str(&format!("<#if {condition}>"));
        self.body(out);
        for _ in 0..self.rng.usize(0..3) {
            let condition = self.expr(Ty::Bool, 0);
            out.push_str(&format!("<#elseif {condition}>"));
            self.body(out);
        }
        if self.chance(50) {
            out.push_str("<#else>");
            self.body(out);
        }
        out.push_str("</#if>");
    }

    /// Returns a sequence expression and the type of its items.
    fn listable(&mut self) -> (String, Ty) {
        match self.rng.u32(0..10) {
            0 => ("q".to_owned(), Ty::Str),
            1 => ("nq".to_owned(), Ty::Num),
            2 => ("mq".to_owned(), Ty::Any),
            3 => ("h.list".to_owned(), Ty::Any),
            4 => {
                let (a, b) = (self.rng.i32(-2..4), self.rng.i32(-2..4));
                let op = self.pick(&["..", "..<", "..!", "..*"]);
                (format!("{a}{op}{}", if op == "..*" { b.abs() } else { b }), Ty::Num)
            }
            5 => ("(q!)".to_owned(), Ty::Str),
            6 => {
                let seq = self.expr(Ty::Seq, 1);
                (seq, Ty::Any)
            }
            7 => ("s1?split(\",\")".to_owned(), Ty::Str),
            8 => ("[1, \"two\", 3.5, true]".to_owned(), Ty::Any),
            _ => ("h?keys".to_owned(), Ty::Str),
        }
    }

    fn list_directive(&mut self, out: &mut String) {
        let var = self.fresh_name("x");
        let saved_in_loop = self.in_loop;
        match self.rng.u32(0..10) {
            0..=1 => {
                let hash =
                    self.pick(&["h", "h.inner", "{\"a\": 1, \"b\": \"two\"}", "(h.inner)!{}"]);
                let value = self.fresh_name("v");
                out.push_str(&format!("<#list {hash} as {var}, {value}>"));
                self.scope.push(Scoped { name: var.clone(), ty: Ty::Str, is_loop: true });
                self.scope.push(Scoped { name: value, ty: Ty::Any, is_loop: true });
                self.in_loop = true;
                self.list_body(out);
                self.scope.pop();
                self.scope.pop();
            }
            2 => {
                let (seq, ty) = self.listable();
                out.push_str(&format!("<#list {seq}>"));
                out.push_str(self.pick(&["[", "\n  ", ""]));
                out.push_str(&format!("<#items as {var}>"));
                self.scope.push(Scoped { name: var.clone(), ty, is_loop: true });
                self.in_loop = true;
                self.list_body(out);
                self.scope.pop();
                out.push_str("</#items>");
                out.push_str(self.pick(&["]", "\n", ""]));
            }
            _ => {
                let (seq, ty) = self.listable();
                out.push_str(&format!("<#list {seq} as {var}>"));
                self.scope.push(Scoped { name: var.clone(), ty, is_loop: true });
                self.in_loop = true;
                self.list_body(out);
                self.scope.pop();
            }
        }
        self.in_loop = saved_in_loop;
        if self.chance(30) {
            out.push_str("<#else>");
            self.body(out);
        }
        out.push_str("</#list>");
    }

    fn list_body(&mut self, out: &mut String) {
        self.body(out);
        if self.chance(50) {
            let sep = self.pick(&[",", ", ", ",\n", "|"]);
            if self.chance(50) {
                out.push_str(&format!("<#sep>{sep}</#sep>"));
            } else {
                out.push_str(&format!("<#sep>{sep}"));
            }
        }
    }

    fn assign_directive(&mut self, out: &mut String) {
        let name = self.fresh_name("t");
        let ty = self.pick(&[Ty::Str, Ty::Num, Ty::Bool, Ty::Seq, Ty::Hash]);
        let keyword = if self.chance(20) { "global" } else { "assign" };
        match self.rng.u32(0..10) {
            0 if self.depth < 3 => {
                out.push_str(&format!("<#{keyword} {name}>"));
                self.body(out);
                out.push_str(&format!("</#{keyword}>"));
                self.scope.push(Scoped { name, ty: Ty::Str, is_loop: false });
                return;
            }
            1 => {
                let value = self.expr(Ty::Num, 1);
                let op = self.pick(&["+=", "-=", "*=", "/=", "%="]);
                let step = self.expr(Ty::Num, 2);
                out.push_str(&format!("<#{keyword} {name} = {value}><#assign {name} {op} {step}>"));
                if self.chance(40) {
                    out.push_str(&format!("<#assign {name}{}>", self.pick(&["++", "--"])));
                }
                self.scope.push(Scoped { name, ty: Ty::Num, is_loop: false });
                return;
            }
            2 => {
                let value = self.expr(ty, 1);
                let second = self.fresh_name("t");
                let value2 = self.expr(Ty::Str, 1);
                out.push_str(&format!("<#assign {name} = {value} {second}={value2}>"));
                self.scope.push(Scoped { name: second, ty: Ty::Str, is_loop: false });
            }
            _ => {
                let value = self.expr(ty, 0);
                out.push_str(&format!("<#{keyword} {name} = {value}>"));
            }
        }
        self.scope.push(Scoped { name, ty, is_loop: false });
    }

    fn switch_directive(&mut self, out: &mut String) {
        let ty = if self.chance(50) { Ty::Str } else { Ty::Num };
        let value = self.expr(ty, 1);
        out.push_str(&format!("<#switch {value}>"));
        out.push_str(self.pick(&["", "\n  "]));
        for _ in 0..self.rng.usize(1..4) {
            let case = self.expr(ty, 2);
            out.push_str(&format!("<#case {case}>"));
            self.body(out);
            if self.chance(60) {
                out.push_str("<#break>");
            }
        }
        if self.chance(50) {
            out.push_str("<#default>");
            self.body(out);
        }
        out.push_str("</#switch>");
    }

    fn setting_directive(&mut self, out: &mut String) {
        let setting = self.pick(&[
            "number_format=\"0.00\"",
            "number_format=\"number\"",
            "number_format=\"computer\"",
            "number_format=\"#,##0.###\"",
            "number_format=\"0\"",
            "boolean_format=\"yes,no\"",
            "boolean_format=\"c\"",
            "datetime_format=\"yyyy-MM-dd HH:mm:ss\"",
            "time_zone=\"UTC\"",
        ]);
        out.push_str(&format!("<#setting {setting}>"));
    }

    // ------------------------------------------------------------------ expressions

    fn vars_of(&self, ty: Ty) -> Vec<Scoped> {
        self.scope.iter().filter(|v| v.ty == ty || v.ty == Ty::Any).cloned().collect()
    }

    fn expr(&mut self, ty: Ty, depth: u32) -> String {
        // Deep expressions fall back to leaves so a template stays small.
        let leaf = depth >= 3 || self.chance(30);
        if !leaf && self.chance(6) {
            return self.default_expr(ty, depth);
        }
        match ty {
            Ty::Str => self.str_expr(depth, leaf),
            Ty::Num => self.num_expr(depth, leaf),
            Ty::Bool => self.bool_expr(depth, leaf),
            Ty::Seq => self.seq_expr(depth, leaf),
            Ty::Hash => self.hash_expr(depth, leaf),
            Ty::Any => {
                let ty = self.pick(&[Ty::Str, Ty::Num, Ty::Bool]);
                self.expr(ty, depth)
            }
        }
    }

    /// Returns a variable of the type, from the scope or the data model.
    fn variable(&mut self, ty: Ty) -> String {
        let locals = self.vars_of(ty);
        if !locals.is_empty() && self.chance(60) {
            return locals[self.rng.usize(0..locals.len())].name.clone();
        }
        let paths: &[&str] = match ty {
            Ty::Str => &["s1", "s2", "h.a", "h[\"a\"]", "h.inner.a", "q[0]", "h.empty", "s1[0]"],
            Ty::Num => &["n1", "n2", "h.n", "h[\"x-y\"]", "h.inner.n", "nq[0]", "nq[1]", "h.x\\-y"],
            Ty::Bool => &["b", "h.flag"],
            Ty::Seq => &["q", "nq", "mq", "h.list", "h.inner.list"],
            Ty::Hash => &["h", "h.inner", "h.inner.inner"],
            Ty::Any => &["z", "h.k", "mq[0]", "h.list[0]", "h.missing", "nosuch"],
        };
        self.pick(paths).to_string()
    }

    fn loop_var(&mut self) -> Option<String> {
        let loops: Vec<Scoped> = self.scope.iter().filter(|v| v.is_loop).cloned().collect();
        if loops.is_empty() {
            None
        } else {
            Some(loops[self.rng.usize(0..loops.len())].name.clone())
        }
    }

    fn default_expr(&mut self, ty: Ty, depth: u32) -> String {
        let target = if self.chance(50) { self.variable(Ty::Any) } else { self.variable(ty) };
        let fallback = self.expr(ty, depth + 1);
        match self.rng.u32(0..6) {
            0 => format!("{target}!{fallback}"),
            1 => format!("({target}.deep.x)!{fallback}"),
            2 => format!("({target}!{fallback})"),
            3 if ty == Ty::Str => format!("{target}!"),
            4 => format!("{target}?default({fallback})"),
            _ => format!("({target})!{fallback}"),
        }
    }

    fn string_literal(&mut self) -> String {
        match self.rng.u32(0..12) {
            0 => "\"a\\nb\\t\\\"q\\\" \\\\ \\l\\g\\a \\{x}\"".to_owned(),
            1 => "\"\\x41B\\x7e\\x1F600\"".to_owned(),
            2 => "r\"raw ${x} \\n\"".to_owned(),
            3 => "'single \"quoted\"'".to_owned(),
            4 => {
                let inner = self.expr(Ty::Str, 3);
                format!("\"pre ${{{inner}}} post\"")
            }
            _ => {
                let word = self.pick(WORDS);
                let mut escaped = String::new();
                for c in word.chars() {
                    match c {
                        '"' => escaped.push_str("\\\""),
                        '\\' => escaped.push_str("\\\\"),
                        '\n' => escaped.push_str("\\n"),
                        '\r' => escaped.push_str("\\r"),
                        '\t' => escaped.push_str("\\t"),
                        '$' => escaped.push_str("$"),
                        '{' => escaped.push_str("\\{"),
                        c => escaped.push(c),
                    }
                }
                format!("\"{escaped}\"")
            }
        }
    }

    fn small_int(&mut self) -> i32 {
        self.rng.i32(-1..8)
    }

    fn str_expr(&mut self, depth: u32, leaf: bool) -> String {
        if leaf {
            return if self.chance(50) { self.variable(Ty::Str) } else { self.string_literal() };
        }
        let d = depth + 1;
        match self.rng.u32(0..16) {
            0 => {
                let (a, b) = (self.expr(Ty::Str, d), self.expr(Ty::Any, d));
                format!("{a} + {b}")
            }
            1..=5 => {
                let target = self.expr(Ty::Str, d);
                let builtin = self.string_builtin();
                format!("{}{builtin}", self.postfix_operand(&target))
            }
            6 => {
                let n = self.expr(Ty::Num, d);
                let builtin = self.pick(&[
                    "?c",
                    "?string",
                    "?string(\"0.00\")",
                    "?string.number",
                    "?string.currency",
                    "?string.percent",
                    "?string[\"0.#\"]",
                    "?string(\"#,##0.00;(#)\")",
                    "?string.computer",
                    "?string(\"000\")",
                    "?upper_case",
                ]);
                format!("{}{builtin}", self.postfix_operand(&n))
            }
            7 => {
                let c = self.expr(Ty::Bool, d);
                let builtin = self.pick(&[
                    "?c",
                    "?string(\"y\", \"n\")",
                    "?string",
                    "?then(\"on\", \"off\")",
                ]);
                format!("{}{builtin}", self.postfix_operand(&c))
            }
            8 => {
                let seq = self.expr(Ty::Seq, d);
                let builtin = self.pick(&[
                    "?join(\", \")",
                    "?join(\",\", \"none\", \".\")",
                    "?first",
                    "?last",
                    "?join(\"\")",
                ]);
                format!("{}{builtin}", self.postfix_operand(&seq))
            }
            9 => {
                let n = self.expr(Ty::Num, d);
                let builtin = self.pick(&[
                    "?number_to_datetime?iso_utc",
                    "?number_to_datetime?iso_utc_ms",
                    "?number_to_datetime?string(\"yyyy-MM-dd'T'HH:mm:ss.SSSXXX\")",
                    "?number_to_date?string(\"EEE, d MMM yyyy\")",
                    "?number_to_datetime?string.iso",
                ]);
                format!("{}{builtin}", self.postfix_operand(&n))
            }
            10 => {
                let s = self.expr(Ty::Str, d);
                let builtin = self.pick(&[
                    "?datetime(\"yyyy-MM-dd HH:mm:ss\")?iso_utc",
                    "?datetime.iso?iso_utc_ms",
                    "?date(\"yyyy-MM-dd\")?string(\"dd/MM/yyyy\")",
                ]);
                format!("{}{builtin}", self.postfix_operand(&s))
            }
            11 => {
                let s = self.expr(Ty::Str, d);
                let (a, b) = (self.rng.i32(-1..5), self.rng.i32(-1..6));
                let range = self.pick(&["..", "..<", "..*"]);
                let end = if range == "..*" { b.abs().to_string() } else { b.to_string() };
                let end = if self.chance(20) { String::new() } else { end };
                format!("{}[{a}{range}{end}]", self.postfix_operand(&s))
            }
            12 => {
                let c = self.expr(Ty::Bool, d);
                let (a, b) = (self.expr(Ty::Str, d), self.expr(Ty::Str, d));
                format!("{}?then({a}, {b})", self.postfix_operand(&c))
            }
            13 => {
                let v = self.expr(Ty::Str, d);
                let (a, b) = (self.string_literal(), self.string_literal());
                format!(
                    "{}?switch({a}, \"first\", {b}, \"second\", \"other\")",
                    self.postfix_operand(&v)
                )
            }
            14 => {
                let h = self.expr(Ty::Hash, d);
                let key = self.pick(KEYS);
                format!("{}[\"{key}\"]", self.postfix_operand(&h))
            }
            _ => match self.loop_var() {
                Some(var) => {
                    let builtin = self.pick(&[
                        "?item_parity",
                        "?item_cycle(\"a\", \"b\", \"c\")",
                        "?index?c",
                        "?counter?string",
                    ]);
                    format!("{var}{builtin}")
                }
                None => self.variable(Ty::Str),
            },
        }
    }

    fn string_builtin(&mut self) -> String {
        let n = self.small_int();
        let m = self.rng.i32(0..6);
        let s = self.string_literal();
        let choices = [
            "?upper_case".to_owned(),
            "?lower_case".to_owned(),
            "?cap_first".to_owned(),
            "?uncap_first".to_owned(),
            "?capitalize".to_owned(),
            "?trim".to_owned(),
            "?json_string".to_owned(),
            "?js_string".to_owned(),
            "?j_string".to_owned(),
            "?url".to_owned(),
            "?url_path".to_owned(),
            "?string".to_owned(),
            format!("?substring({m})"),
            format!("?substring({m}, {})", m + self.rng.i32(0..3)),
            format!("?keep_after({s})"),
            format!("?keep_before({s})"),
            format!("?keep_after_last({s})"),
            format!("?keep_before_last({s})"),
            format!("?remove_beginning({s})"),
            format!("?remove_ending({s})"),
            format!("?ensure_starts_with({s})"),
            format!("?ensure_ends_with({s})"),
            format!("?left_pad({n})"),
            format!("?left_pad({n}, {s})"),
            format!("?right_pad({n}, {s})"),
            format!("?truncate({m})"),
            format!("?replace({s}, \"_\")"),
            format!("?replace({s}, \"-\", \"{}\")", self.pick(&["r", "i", "f", "ri", "if"])),
            "?replace(\"[aeiou]\", \"<$0>\", \"r\")".to_owned(),
            "?replace(\"\", \"|\")".to_owned(),
            "?word_list?join(\"+\")".to_owned(),
            "?split(\",\")?join(\";\")".to_owned(),
            "?groups?join(\";\")".to_owned(),
            "?eval_json?is_hash?c".to_owned(),
        ];
        choices[self.rng.usize(0..choices.len())].clone()
    }

    /// Wraps an expression in parentheses unless it is a plain operand, so a postfix
    /// built-in applies to all of it.
    fn postfix_operand(&mut self, expr: &str) -> String {
        let plain = expr.chars().all(|c| {
            c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '"' | '?' | '(' | ')')
        }) && !expr.starts_with('-');
        if plain && !self.chance(10) { expr.to_owned() } else { format!("({expr})") }
    }

    fn num_literal(&mut self) -> String {
        self.pick(&[
            "0", "1", "2", "3", "-2", "1.5", "0.5", "10", "100", "2.25", "7", "1000", "0.001",
            "-1.5",
        ])
        .to_string()
    }

    fn num_expr(&mut self, depth: u32, leaf: bool) -> String {
        if leaf {
            return if self.chance(50) { self.variable(Ty::Num) } else { self.num_literal() };
        }
        let d = depth + 1;
        match self.rng.u32(0..12) {
            0..=2 => {
                let (a, b) = (self.expr(Ty::Num, d), self.expr(Ty::Num, d));
                let op = self.pick(&["+", "-", "*", "/", "%"]);
                format!("{a} {op} {b}")
            }
            3 => {
                let a = self.expr(Ty::Num, d);
                let op = self.pick(&["-", "+"]);
                format!("{op}{}", self.postfix_operand(&a))
            }
            4 => {
                let a = self.expr(Ty::Num, d);
                let builtin =
                    self.pick(&["?abs", "?round", "?floor", "?ceiling", "?int", "?c?length"]);
                format!("{}{builtin}", self.postfix_operand(&a))
            }
            5 => {
                let s = self.expr(Ty::Str, d);
                let builtin = self.pick(&[
                    "?length",
                    "?index_of(\"a\")",
                    "?last_index_of(\",\")",
                    "?number",
                    "?index_of(\"\")",
                    "?datetime(\"yyyy-MM-dd HH:mm:ss\")?long",
                ]);
                format!("{}{builtin}", self.postfix_operand(&s))
            }
            6 => {
                let q = self.expr(Ty::Seq, d);
                let builtin = self.pick(&["?size", "?seq_index_of(1)", "?seq_index_of(\"a\")"]);
                format!("{}{builtin}", self.postfix_operand(&q))
            }
            7 => {
                let builtin = self.pick(&[
                    "nq?min",
                    "nq?max",
                    "nq?first",
                    "nq?last",
                    "h?size",
                    "(nq?sort)?last",
                    "nq?map(v -> v * 2)?first",
                ]);
                builtin.to_string()
            }
            8 => {
                let s = self.pick(&[
                    "\"12\"",
                    "\"-0.5\"",
                    "\"1e3\"",
                    "\".5\"",
                    "\" 7 \"",
                    "\"1,000\"",
                    "\"+5\"",
                    "s1",
                    "\"INF\"",
                ]);
                format!("{s}?number")
            }
            9 => match self.loop_var() {
                Some(var) => format!("{var}{}", self.pick(&["?index", "?counter"])),
                None => self.variable(Ty::Num),
            },
            10 => {
                let a = self.expr(Ty::Num, d);
                format!("({a})")
            }
            _ => {
                let c = self.expr(Ty::Bool, d);
                let (a, b) = (self.expr(Ty::Num, d), self.expr(Ty::Num, d));
                format!("{}?then({a}, {b})", self.postfix_operand(&c))
            }
        }
    }

    fn bool_expr(&mut self, depth: u32, leaf: bool) -> String {
        if leaf {
            return match self.rng.u32(0..4) {
                0 => self.pick(&["true", "false"]).to_string(),
                1 => {
                    let v = self.variable(Ty::Any);
                    format!("{v}??")
                }
                _ => self.variable(Ty::Bool),
            };
        }
        let d = depth + 1;
        match self.rng.u32(0..14) {
            0..=1 => {
                let ty = if self.chance(50) { Ty::Num } else { Ty::Str };
                let ty2 = if self.chance(90) { ty } else { Ty::Any };
                let (a, b) = (self.expr(ty, d), self.expr(ty2, d));
                let op = self.pick(&["==", "!=", "="]);
                format!("{a} {op} {b}")
            }
            2..=3 => {
                let (a, b) = (self.expr(Ty::Num, d), self.expr(Ty::Num, d));
                match self.rng.u32(0..3) {
                    0 => format!("{a} {} {b}", self.pick(&["lt", "lte", "gt", "gte", "<", "<="])),
                    _ => format!("({a} {} {b})", self.pick(&[">", ">=", "<", "<="])),
                }
            }
            4..=5 => {
                let (a, b) = (self.expr(Ty::Bool, d), self.expr(Ty::Bool, d));
                format!("{a} {} {b}", self.pick(&["&&", "||"]))
            }
            6 => {
                let a = self.expr(Ty::Bool, d);
                format!("!{}", self.postfix_operand(&a))
            }
            7 => {
                let v = self.variable(Ty::Any);
                let choice = self.pick(&[
                    "??",
                    "?has_content",
                    "?is_string",
                    "?is_number",
                    "?is_boolean",
                    "?is_hash",
                    "?is_sequence",
                    "?is_enumerable",
                    "?is_collection",
                    "?is_hash_ex",
                    "?is_date",
                ]);
                format!("{v}{choice}")
            }
            8 => {
                let v = self.variable(Ty::Any);
                format!("({v}.deep)??")
            }
            9 => {
                let s = self.expr(Ty::Str, d);
                let t = self.string_literal();
                let builtin = self.pick(&["contains", "starts_with", "ends_with"]);
                format!("{}?{builtin}({t})", self.postfix_operand(&s))
            }
            10 => {
                let q = self.expr(Ty::Seq, d);
                let v = self.expr(Ty::Any, d + 1);
                format!("{}?seq_contains({v})", self.postfix_operand(&q))
            }
            11 => {
                let s = self.pick(&["\"true\"", "\"false\"", "s1", "\"yes\""]);
                let builtin = self.pick(&[
                    "?boolean",
                    "?matches(\"[a-z]+\")",
                    "?matches(\"^\\\\d+$\")",
                    "?has_content",
                ]);
                format!("{s}{builtin}")
            }
            12 => match self.loop_var() {
                Some(var) => format!(
                    "{var}{}",
                    self.pick(&[
                        "?has_next",
                        "?is_first",
                        "?is_last",
                        "?is_even_item",
                        "?is_odd_item"
                    ])
                ),
                None => self.variable(Ty::Bool),
            },
            _ => {
                let v = self.expr(Ty::Bool, d);
                format!("({v})")
            }
        }
    }

    fn seq_expr(&mut self, depth: u32, leaf: bool) -> String {
        if leaf {
            return self.variable(Ty::Seq);
        }
        let d = depth + 1;
        match self.rng.u32(0..12) {
            0 => {
                let items: Vec<String> =
                    (0..self.rng.usize(0..4)).map(|_| self.expr(Ty::Any, d + 1)).collect();
                format!("[{}]", items.join(", "))
            }
            1 => {
                let (a, b) = (self.rng.i32(-2..5), self.rng.i32(-2..5));
                format!("{a}{}{b}", self.pick(&["..", "..<", "..!"]))
            }
            2 => {
                let (a, b) = (self.expr(Ty::Seq, d), self.expr(Ty::Seq, d));
                format!("{a} + {b}")
            }
            3 => {
                let q = self.expr(Ty::Seq, d);
                let builtin = self.pick(&[
                    "?reverse",
                    "?sort",
                    "?chunk(2)?first",
                    "?filter(v -> v??)",
                    "?map(v -> v!\"-\")",
                ]);
                format!("{}{builtin}", self.postfix_operand(&q))
            }
            4 => format!(
                "{}",
                self.pick(&[
                    "q?sort",
                    "nq?sort",
                    "q?filter(v -> v?length gt 1)",
                    "nq?map(v -> v + 1)",
                    "nq?filter(v -> v > 1)"
                ])
            ),
            5 => {
                let s = self.expr(Ty::Str, d);
                let builtin = self.pick(&[
                    "?split(\",\")",
                    "?split(\"\")",
                    "?word_list",
                    "?split(\"[,;]\", \"r\")",
                ]);
                format!("{}{builtin}", self.postfix_operand(&s))
            }
            6 => {
                let h = self.expr(Ty::Hash, d);
                format!("{}{}", self.postfix_operand(&h), self.pick(&["?keys", "?values"]))
            }
            7 => {
                let q = self.expr(Ty::Seq, d);
                let (a, b) = (self.rng.i32(0..3), self.rng.i32(0..4));
                format!(
                    "{}[{a}..{}]",
                    self.postfix_operand(&q),
                    if self.chance(50) { format!("*{b}") } else { b.to_string() }
                )
            }
            8 => "\"[1, 2, \\\"x\\\"]\"?eval_json".to_owned(),
            _ => self.variable(Ty::Seq),
        }
    }

    fn hash_expr(&mut self, depth: u32, leaf: bool) -> String {
        if leaf {
            return self.variable(Ty::Hash);
        }
        let d = depth + 1;
        match self.rng.u32(0..5) {
            0 => {
                let entries: Vec<String> = (0..self.rng.usize(0..3))
                    .map(|_| {
                        let key = self.pick(KEYS).to_string();
                        let value = self.expr(Ty::Any, d + 1);
                        format!("\"{key}\": {value}")
                    })
                    .collect();
                format!("{{{}}}", entries.join(", "))
            }
            1 => {
                let (a, b) = (self.expr(Ty::Hash, d), self.expr(Ty::Hash, d));
                format!("{a} + {b}")
            }
            2 => "\"{\\\"a\\\": 1, \\\"n\\\": 2.5}\"?eval_json".to_owned(),
            _ => self.variable(Ty::Hash),
        }
    }
}

/// Quotes `text` as a JSON string.
pub fn json_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
