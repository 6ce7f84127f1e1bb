"""Writes the locale cases as vector folders, or collects the oracle's results into JSON lines.

    python3 generate_locales.py write /tmp/locales
    tools/freemarker-oracle/render --vectors --write /tmp/locales
    python3 generate_locales.py collect /tmp/locales > locales.jsonl
"""
import json
import os
import sys

DATA = {"n": 1234.5, "m": -9876543.21, "i": 1000000, "z": 0, "f": 0.000125,
        "t": 1700000000123, "d": "2024-03-05", "s": ["b", "a"]}

LOCALES = ["de_DE", "de", "de_CH", "fr_FR", "fr_CA", "es_ES", "it_IT", "nl_NL", "pt_BR",
           "ru_RU", "pl_PL", "cs_CZ", "sv_SE", "da_DK", "fi_FI", "nb_NO", "ja_JP", "zh_CN",
           "ko_KR", "en_GB", "en_IN", "en_US"]

BODIES = [
    "${n} ${n?c} ${n?string.number} ${m?string.number} ${i?string.number} ${z?string.number}",
    "${n?string.currency}|${m?string.currency}|${f?string.percent}|${m?string.percent}",
    "${n?string(\"0.00\")}|${m?string(\",##0.0#\")}|${i?string(\"#,##0\")}",
    "#{n; m2}|#{m}|#{n; M1}|#{f; m1M3}",
    "<#setting number_format=\"0.##\">${n}|${m}|${f}",
    "<#setting number_format=\"number\">${n}|${i}",
    "${t?number_to_datetime?string(\"EEEE d MMMM yyyy HH:mm\")}|${t?number_to_datetime?string(\"EEE, d MMM yy h:mm a\")}",
    "${t?number_to_datetime?string(\"MMMM\")}|${t?number_to_datetime?string(\"MMM\")}|${t?number_to_datetime?string(\"MMMM yyyy\")}|${t?number_to_datetime?string(\"LLLL\")}",
    "${t?number_to_date?string.short}|${t?number_to_date?string.medium}|${t?number_to_date?string.long}",
    "${t?number_to_time?string.short}|${t?number_to_time?string.medium}",
    "${t?number_to_datetime?string.short}|${t?number_to_datetime?string.medium_short}",
    "<#setting datetime_format=\"medium\">${t?number_to_datetime}",
    "${d?date(\"yyyy-MM-dd\")?string(\"EEE d MMM yyyy G\")}|${t?number_to_datetime?string(\"w W D F u\")}",
    "${(\"ab\" == \"ab\")?c}|${(\"ab\" == \"ac\")?c}|${s?join(\", \")}|${\"straße\"?upper_case}",
    "${1.5?round} ${n?floor} ${(n > 3)?c} ${n?is_number?c} ${\"3,5\"?length}",
]


def cases():
    for locale in LOCALES:
        for body in BODIES:
            yield f'<#setting locale="{locale}">' + body
    yield '<#setting locale="de_DE">${n?string.number}<#setting locale="en_US">|${n?string.number}'
    yield '<#setting number_format="0.00"><#setting locale="fr_FR">${n}<#setting locale="en_US">|${n}'


def write(out):
    for index, template in enumerate(cases()):
        folder = os.path.join(out, f"{index:04d}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "template.ftl"), "w", encoding="utf-8") as f:
            f.write(template)
        with open(os.path.join(folder, "data.json"), "w", encoding="utf-8") as f:
            json.dump(DATA, f)


def collect(out):
    for name in sorted(os.listdir(out)):
        folder = os.path.join(out, name)
        with open(os.path.join(folder, "template.ftl"), encoding="utf-8") as f:
            case = {"template": f.read()}
        expected = os.path.join(folder, "expected.txt")
        if os.path.exists(expected):
            with open(expected, encoding="utf-8") as f:
                case["output"] = f.read()
        else:
            with open(os.path.join(folder, "expected-error.txt"), encoding="utf-8") as f:
                case["error"] = f.read().split(":")[0].strip()
        print(json.dumps(case, ensure_ascii=False))


if __name__ == "__main__":
    {"write": write, "collect": collect}[sys.argv[1]](sys.argv[2])
