#!/usr/bin/env python3
"""Generates feeds/demo/trace.jsonl: a synthetic audience trace for demos.

Everything is invented: nicknames, message ids, and phone / ID numbers in the
clearly fake 138-0000-xxxx / 110105 1990 0101 xxxx style. Topics come from the
demo knowledge base (knowledge-base/demo/facts.txt). Deterministic (seeded).
Run: python3 feeds/demo/make_trace.py > feeds/demo/trace.jsonl
"""
import json
import random

rng = random.Random(20261126)

FAMILIES = [
    ["公积金怎么提取？", "请问住房公积金如何提取", "公积金咋取出来", "主持人，公积金提取怎么办理", "想问下公积金怎么取"],
    ["租房可以提取公积金吗", "交房租能用公积金吗？", "租房提取公积金怎么办"],
    ["社保卡丢了怎么补办？", "社保卡丢了在哪补", "社会保障卡丢失怎么补办", "请问社保卡补办流程"],
    ["异地就医备案怎么办？", "去外地看病要备案吗", "请问异地就医备案在哪里办", "跨省就医怎么备案"],
    ["新生儿落户需要什么材料", "小孩上户口需要哪些材料？", "新生儿上户口要带什么"],
    ["身份证丢了补办要多久", "补办身份证要几天？", "身份证丢了怎么补"],
    ["营业执照怎么网上办？", "营业执照能网上办理吗", "请问个体户营业执照网上怎么办"],
    ["二手房过户要交哪些税", "二手房过户交什么税费？", "买二手房过户税费怎么算"],
    ["退休金什么时候发", "养老金每月几号发放？", "请问退休金几号到账"],
    ["失业金怎么领？", "失业金在哪里申领", "领失业金需要什么条件"],
    ["医保码怎么激活", "医保电子凭证在哪激活？"],
    ["房产证丢了能补办吗", "房本丢了怎么补办？"],
    ["灵活就业怎么交养老保险？", "自由职业交社保怎么办理"],
    ["户口本丢了怎么补", "户口簿遗失怎么补办？"],
    ["带押过户怎么操作？", "房子有贷款能过户吗"],
]
WEIGHTS = [10, 4, 8, 7, 5, 5, 6, 4, 6, 4, 3, 3, 3, 2, 3]

CHATTER = ["主持人好", "来了来了", "666", "哈哈哈", "支持政务直播", "讲得真好", "打卡", "晚上好",
           "谢谢老师", "学到了", "点赞", "原来可以网上办，太好了", "前排", "每天准时来听", "辛苦了"]
SPAM = ["加微信代办社保卡，价格优惠", "兼职日结，私聊我", "点击链接领补贴 http://example.invalid"]
GIFTS = ["小心心", "玫瑰", "棒棒糖", "人气票"]
NICK = ["观众", "市民", "网友", "小王", "老李", "阿芳", "晨跑的人", "示例市居民"]

def nick():
    return rng.choice(NICK) + str(rng.randint(1, 999))

def fake_phone(style):
    tail = f"{rng.randint(0, 9999):04d}"
    d = "1380000" + tail
    if style == 0:
        return d
    if style == 1:
        return f"138 0000 {tail}"
    if style == 2:
        return f"138-0000-{tail}"
    fw = "０１２３４５６７８９"
    return "".join(fw[int(c)] for c in d)

def fake_id():
    return "11010519900101" + f"{rng.randint(0, 999):03d}" + rng.choice("0123456789X")

out = []
t = 0
counter = {"douyin": 0, "bilibili": 0, "wechat": 0, "sms": 0}

def nid(src):
    counter[src] += 1
    return f"demo-{src}-{counter[src]}"

# three bursts (host asks "有什么问题请留言"), quieter stretches between
phases = [(0, 40, 0.35), (40, 70, 0.08), (70, 100, 0.6), (100, 140, 0.12), (140, 170, 0.5), (170, 200, 0.1)]
for start, end, p_per_100ms in phases:
    for tick in range(start * 10, end * 10):
        if rng.random() > p_per_100ms:
            continue
        t_ms = tick * 100 + rng.randint(0, 99)
        r = rng.random()
        if r < 0.40:
            fam = rng.choices(FAMILIES, WEIGHTS)[0]
            src = rng.choice(["douyin", "douyin", "bilibili"])
            out.append({"t_ms": t_ms, "source": src, "id": nid(src), "author": nick(), "text": rng.choice(fam)})
        elif r < 0.62:
            src = rng.choice(["douyin", "bilibili"])
            out.append({"t_ms": t_ms, "source": src, "id": nid(src), "author": nick(), "text": rng.choice(CHATTER)})
        elif r < 0.74:
            out.append({"t_ms": t_ms, "source": "douyin", "id": nid("douyin"), "author": nick(), "kind": "like", "count": rng.randint(1, 30)})
        elif r < 0.82:
            out.append({"t_ms": t_ms, "source": "douyin", "id": nid("douyin"), "author": nick(), "kind": "gift", "gift_name": rng.choice(GIFTS), "count": rng.randint(1, 5)})
        elif r < 0.84:
            out.append({"t_ms": t_ms, "source": "douyin", "id": nid("douyin"), "author": nick(), "text": rng.choice(SPAM)})
        else:
            src = rng.choice(["wechat", "sms"])
            fam = rng.choices(FAMILIES, WEIGHTS)[0]
            q = rng.choice(fam)
            who = rng.choice(["", "我叫张小明，", "我是李红梅，", "您好，"])
            extra = rng.choice([
                "",
                f"我的电话{fake_phone(rng.randint(0, 3))}，方便的话回个电话。",
                f"身份证号{fake_id()}，麻烦帮查一下。",
                "家里老人不会用手机，能不能去窗口办？",
            ])
            author = fake_phone(0) if src == "sms" else "o" + "".join(rng.choice("abcdef0123456789") for _ in range(12))
            out.append({"t_ms": t_ms, "source": src, "id": nid(src), "author": author, "text": who + q + extra})
        # platforms re-deliver now and then (dedupe must drop these)
        if rng.random() < 0.03:
            dup = dict(out[-1])
            dup["t_ms"] += rng.randint(50, 1500)
            out.append(dup)

out.sort(key=lambda m: m["t_ms"])
for m in out:
    print(json.dumps(m, ensure_ascii=False))
