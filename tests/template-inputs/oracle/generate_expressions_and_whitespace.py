import json, os, random, sys, shutil

out = sys.argv[1]
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
count = int(sys.argv[3]) if len(sys.argv) > 3 else 300
family = sys.argv[4] if len(sys.argv) > 4 else "all"
random.seed(seed)
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)

DATA = {
    "s": "Hello", "e": "", "sp": " x ", "n": 42, "d": 1.5, "neg": -7, "z": 0, "big": 12345678901234567890,
    "t": True, "f": False, "xs": ["a", "b", "c"], "ns": [3, 1, 2], "empty": [], "h": {"a": 1, "b": "two", "c": None},
    "eh": {}, "nul": None, "nested": {"k": {"v": "deep"}}, "mixed": [1, "x", True, None], "u": "ünï😀", "ts": 1709648551482,
    "date": "2024-03-05 14:22:31.482", "q": "a\"b\\c/d<e>f&g'h\n", "num_s": "12.50",
}

n = 0
def emit(template, data=None):
    global n
    n += 1
    d = os.path.join(out, f"{n:05d}")
    os.makedirs(d)
    with open(os.path.join(d, "template.ftl"), "w", newline="") as f:
        f.write(template)
    with open(os.path.join(d, "data.json"), "w") as f:
        json.dump(data if data is not None else DATA, f)

SEPS = ["", " ", "\n", "\n  ", "  \n", "\t", "\n\n", "\n\t", " \n ", "\r\n", "  ", "\n    "]
def ws_block(depth, in_list=False):
    items = []
    for _ in range(random.randint(1, 4)):
        r = random.random()
        if depth > 0 and r < 0.15:
            items.append(("<#if t>", ws_block(depth - 1, in_list), "</#if>"))
        elif depth > 0 and r < 0.25:
            items.append(("<#if f>", ws_block(depth - 1, in_list), "<#else>", ws_block(depth - 1, in_list), "</#if>"))
        elif depth > 0 and r < 0.35:
            items.append(("<#list xs as i>", ws_block(depth - 1, True), "</#list>"))
        elif depth > 0 and r < 0.40:
            items.append(("<#list empty as i>", ws_block(depth - 1, True), "<#else>", ws_block(depth - 1, in_list), "</#list>"))
        elif in_list and r < 0.47:
            if random.random() < 0.5:
                items.append(("<#sep>", ws_block(0, False), "</#sep>"))
            else:
                items.append("<#sep>,")
        elif r < 0.55:
            items.append("${s}")
        elif r < 0.62:
            items.append("<#-- c -->")
        elif r < 0.70:
            items.append("<#assign v = 1>")
        elif r < 0.73:
            items.append("<#assign a = 1 b = 2>")
        elif r < 0.76 and depth > 0:
            items.append(("<#switch n><#case 42>", ws_block(0), "<#break><#default>", ws_block(0), "</#switch>"))
        elif r < 0.78:
            items.append("<#setting number_format=\"computer\">")
        elif r < 0.80 and depth > 0:
            items.append(("<#assign cap>", ws_block(0), "</#assign>"))
        elif r < 0.82:
            items.append("#{n}")
        else:
            items.append(random.choice(["text", "x", "{", "}", "\"k\": 1,", "a b", "  y  "]))
    return items

def flatten(items):
    parts = []
    for it in items:
        if isinstance(it, tuple):
            for p in it:
                if isinstance(p, list):
                    parts.append(random.choice(SEPS))
                    parts.extend(flatten(p))
                    parts.append(random.choice(SEPS))
                else:
                    parts.append(p)
        else:
            parts.append(it)
        parts.append(random.choice(SEPS))
    return parts

def gen_ws():
    lead = random.choice(["", "", "  ", "\n", "{\n  ", "<#-- top -->\n", "x"])
    body = "".join(flatten(ws_block(3)))
    # make sure 'cap' sep items are valid: sep outside list isn't generated
    return lead + body + random.choice(["", "\n", "end\n"])

ATOMS = ["s", "e", "n", "d", "neg", "z", "t", "f", "xs", "ns", "h", "eh", "nul", "missing", "nested.k.v", "h.a", "h.b", "h.c",
         "xs[0]", "xs[5]", "ns[1]", "big", "u", "q", "num_s", "\"lit\"", "'x'", "3", "2.5", "0", "true", "false", "[1, 2]", "{\"k\": 1}",
         "(missing!)", "(h.zz)!\"dflt\"", "mixed", "empty", "1..3", "ts"]
BINOPS = ["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||", "lt", "gt"]
BUILTINS = ["?c", "?size", "?length", "?upper_case", "?lower_case", "?trim", "?has_content", "?is_string", "?is_number",
            "?is_sequence", "?is_hash", "?first", "?last", "?reverse", "?keys", "?values", "?join(\",\")", "?string",
            "?string(\"y\",\"n\")", "?then(1,2)", "?round", "?floor", "?abs", "?int", "?number", "?json_string",
            "?cap_first", "?contains(\"l\")", "?index_of(\"l\")", "?split(\"l\")", "?replace(\"l\",\"L\")", "?seq_contains(1)",
            "?sort", "?boolean", "?string(\"0.00\")", "?left_pad(4)", "?url", "?substring(1)", "?chunk(2)", "?switch(42,\"hit\",\"miss\")",
            "??", "!\"d\"", "!", "?exists", "?if_exists", "?default(\"D\")", "?has_content", "?word_list", "?min", "?max",
            "?filter(x -> x??)", "?map(x -> x!)", "?number_to_datetime", "?is_boolean", "?is_enumerable", "?item_cycle(1)"]

def expr(depth):
    r = random.random()
    if depth <= 0 or r < 0.3:
        return random.choice(ATOMS)
    if r < 0.55:
        return "(" + expr(depth - 1) + " " + random.choice(BINOPS) + " " + expr(depth - 1) + ")"
    if r < 0.65:
        return expr(depth - 1) + " " + random.choice(BINOPS) + " " + expr(depth - 1)
    if r < 0.9:
        return expr(depth - 1) + random.choice(BUILTINS)
    if r < 0.95:
        return "!" + expr(depth - 1)
    return "-" + expr(depth - 1)

def gen_expr():
    e = expr(3)
    form = random.random()
    if form < 0.4:
        return "${" + e + "}"
    if form < 0.7:
        return "${(" + e + ")?c}"
    if form < 0.85:
        return "<#if " + e + ">Y<#else>N</#if>"
    return "<#list " + e + " as x>[${x!\"-\"}]<#sep>,</#list>"

VALUES = ["s", "e", "n", "d", "neg", "t", "f", "xs", "h", "eh", "nul", "missing", "(missing!)", "mixed", "empty", "u", "q", "big", "1..3", "num_s", "nested"]
def gen_builtin():
    v = random.choice(VALUES)
    b = random.choice(BUILTINS)
    forms = ["${" + v + b + "}", "${(" + v + b + ")?c}", "${(" + v + b + ")?is_string?c}", "<#list " + v + b + " as x>${x!}</#list>", "${(" + v + b + ")?size}"]
    return random.choice(forms)

for i in range(count):
    fam = family if family != "all" else random.choice(["ws", "ws", "expr", "builtin"])
    if fam == "ws":
        emit(gen_ws())
    elif fam == "expr":
        emit(gen_expr())
    else:
        emit(gen_builtin())
