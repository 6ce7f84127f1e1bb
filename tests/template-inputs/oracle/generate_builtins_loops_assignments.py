import json, os, random, sys, shutil

out = sys.argv[1]; seed = int(sys.argv[2]); count = int(sys.argv[3])
random.seed(seed)
shutil.rmtree(out, ignore_errors=True); os.makedirs(out)
DATA = {
    "s": "Hello World", "e": "", "sp": "  pad me  ", "n": 42, "d": 1.5, "neg": -7, "z": 0, "big": 12345678901234567890,
    "frac": 0.125, "t": True, "f": False, "xs": ["a", "b", "c"], "ns": [3, 1, 2], "empty": [], "h": {"a": 1, "b": "two", "c": None},
    "eh": {}, "nul": None, "nested": {"k": {"v": "deep"}}, "mixed": [1, "x", True, None], "u": "ünï😀é", "ts": 1709648551482,
    "q": "a\"b\\c/d<e>f&g'h\n\t\u0001\u2028", "num_s": "12.50", "words": "  the quick  brown\tfox ", "csv": "a,b,,c,",
    "people": [{"name": "Bo", "age": 30}, {"name": "Al", "age": 25}, {"name": "Cy", "age": 30}], "props": {"x": 1, "y": [1, 2], "z": {"w": True}, "n": None},
}
n = 0
def emit(t):
    global n; n += 1
    d = os.path.join(out, f"{n:05d}"); os.makedirs(d)
    open(os.path.join(d, "template.ftl"), "w", newline="").write(t)
    json.dump(DATA, open(os.path.join(d, "data.json"), "w"))

def rnd(xs): return random.choice(xs)

STR_EXPRS = ["s", "e", "sp", "u", "q", "words", "csv", "num_s", "\"lit\"", "'a\\'b'", "\"\\x41\\x263A\"", "r\"raw\\n${x}\"", "\"${n}-${s}\"", "\"#{d; m2}\"", "n", "d", "neg", "big", "frac"]
def g_strings():
    x = rnd(STR_EXPRS)
    b = rnd(["?length", "?upper_case", "?lower_case", "?cap_first", "?uncap_first", "?capitalize", "?trim", "?json_string", "?js_string", "?j_string",
             "?url", "?url_path", "?word_list?join('|')", "?split(',')?join('|')", "?split('l')?size", "?replace('l','L')", "?replace('l','L','f')",
             "?replace('[aeiou]','_','r')", "?replace('WORLD','w','i')", "?contains('o')?c", "?starts_with('He')?c", "?ends_with('d')?c",
             "?index_of('o')", "?last_index_of('o')", "?index_of('o', 5)", "?substring(2)", "?substring(1, 3)", "?keep_after('o')", "?keep_before('o')",
             "?keep_after_last('o')", "?keep_before_last('o')", "?remove_beginning('He')", "?remove_ending('ld')", "?ensure_starts_with('/')",
             "?ensure_ends_with('/')", "?left_pad(15)", "?right_pad(15, '.')", "?left_pad(15, 'ab')", "?truncate(8)", "?truncate(5, '..')",
             "?has_content?c", "?is_string?c", "?number", "?boolean?c", "[0]", "[1..3]", "[2..]", "[0..*2]", "[1..<2]", "[3..1]",
             "?matches('.*o.*')?c", "?string", "?c", "?starts_with('')?c", "?split('')?size", "?replace('', '-')", "?eval_json?is_hash?c"])
    emit("[${" + x + b + "}]")

NUM_EXPRS = ["n", "d", "neg", "z", "big", "frac", "1.10", "0.1 + 0.2", "7 / 2", "1 / 3", "2 / 3 * 3", "-7 % 3", "7.5 % 2", "n * 1000", "ts / 1000",
             "big + 1", "big * big", "d * d * d", "100 / 7", "frac * 8", "(n - 50) / 4", "-d", "+n", "ts", "1e3?string", "num_s?number"]
def g_numbers():
    x = rnd(NUM_EXPRS)
    b = rnd(["", "?c", "?string", "?string.number", "?string.currency", "?string.percent", "?string.computer", "?string('0.00')", "?string('#,##0.###')",
             "?string('000')", "?string('0.#')", "?string['0.0']", "?round", "?floor", "?ceiling", "?int", "?abs", "?is_number?c", "?number_to_datetime?iso_utc_ms",
             "?number_to_date?iso_utc", "?string('#')", "?string('0.00;(0.00)')", "?string('0%')", "?long?c", "?is_infinite?c", "?left_pad(8, '0')"])
    form = rnd(["${(" + x + ")" + b + "}", "#{" + x + "}", "#{" + x + "; m2}", "#{" + x + "; M1}", "#{" + x + "; m1M3}",
                "<#setting number_format='number'>${" + x + "}", "<#setting number_format='0.##'>${" + x + "}", "<#setting number_format='currency'>${" + x + "}"])
    emit(form)

def g_loops():
    src = rnd(["xs", "ns", "empty", "mixed", "1..4", "4..1", "0..<3", "2..*3", "people", "h?keys", "h?values", "props?keys", "xs?reverse", "ns?sort", "people?sort_by('name')", "people?sort_by('age')", "[]", "[1]"])
    body = rnd(["${x?index}:${x?counter}", "${x!'-'}", "${x?has_next?c}", "${x?is_first?c}${x?is_last?c}", "${x?item_parity}${x?item_cycle('a','b','c')}",
                "<#if x?index == 1><#continue></#if>${x?index}", "<#if x?index == 2><#break></#if>${x?index}", "<#sep>,</#sep>${x?index}", "${x?index}<#sep>, ",
                "<#switch x?index><#case 0>zero<#break><#case 1>one<#default>other</#switch>", "<#assign acc = acc + x?index>${acc}",
                "<#list 1..2 as y>${x?index}${y?index}<#sep>;</#list>", "<#list xs as x>${x}</#list>${x?index}"])
    tpl = rnd(["<#assign acc = 0><#list " + src + " as x>" + body + "</#list>|",
               "<#assign acc = 0><#list " + src + " as x>" + body + "<#else>none</#list>|",
               "<#assign acc = 0><#list " + src + ">[<#items as x>" + body + "</#items>]<#else>none</#list>|",
               "<#list props as k, v>${k}=${v?is_hash?c}<#sep>,</#list>|", "<#list h as k, v>${k}${v!'N'}${k?index}<#sep>,</#list>|",
               "<#list " + src + " as x>${x!}<#list xs as x>${x}</#list>${x!}</#list>"])
    emit(tpl)

def g_assign():
    emit(rnd([
        "<#assign x = 1><#assign x += 2><#assign x *= 3><#assign x -= 1><#assign x /= 4><#assign x %= 3>${x}",
        "<#assign s2 = 'a'><#assign s2 += 'b'><#assign s2 += 1>${s2}",
        "<#assign c = 0><#list 1..5 as i><#assign c++></#list>${c}<#assign c-->${c}",
        "<#global g = 'G'><#assign g = 'A'>${g}",
        "<#assign g = 'A'><#global g = 'G'>${g}",
        "<#global n = 1>${n}",
        "<#assign n = n + 1>${n}",
        "<#assign cap>\n  hello ${s}\n</#assign>[${cap}]",
        "<#global cap>x</#global>${cap}",
        "<#assign a = 1, b = 2 c = 3>${a}${b}${c}",
        "<#assign \"with space\" = 1>${.vars['with space']!}",
        "<#list xs as x><#assign x = 'outer'>${x}</#list>${x}",
        "<#assign h2 = h + {'d': 4}>${h2?keys?join(',')}${h2?size}",
        "<#assign l = xs + ns>${l?size}${l[3]}",
        "<#assign q2 = (missing)!'dflt'>${q2}",
        "<#assign x++>${x}",
        "<#assign e2 = ''><#assign e2 += 'x'>${e2}",
    ]))

def g_ws2():
    parts = ["<#list xs as i>\n", "  ${i}\n", "  <#sep>,\n", "</#list>\n", "<#items as j>", "<#if t>\n", "</#if>\n", "<#else>\n", "<#-- c\n spanning -->\n",
             "<#compress>\n  a   b\n\n\n  c\n</#compress>\n", "<#noparse>  ${x}\n</#noparse>\n", "<#switch n>\n  <#case 42>\n  yes\n  <#break>\n  <#default>\n  no\n</#switch>\n",
             "text\n", "  \n", "\t<#assign z = 1>\n", "<#if\n  t\n>multi</#if>\n", "${s}\r\n", "a\rb\r", " <#if t> ${s} </#if> \n", "<#list xs as i>${i}<#sep>, </#list>\n"]
    body = ""
    depth = 0
    for _ in range(random.randint(3, 10)):
        p = rnd(parts)
        if p in ("<#items as j>", "  <#sep>,\n", "<#else>\n", "  ${i}\n"):
            continue
        body += p
    emit(rnd(["", "  ", "<#-- x -->", "\n"]) + body)

GENS = [g_strings, g_numbers, g_loops, g_assign, g_ws2]
for _ in range(count):
    rnd(GENS)()
