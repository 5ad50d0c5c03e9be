"""Chinese wording for what Python, lxml and SpiffWorkflow report in English.

Process owners read deploy problems in the web modeller; the parsers' own messages are kept
after the Chinese one (as 技术细节) only where they add something."""

from __future__ import annotations

import re
from typing import Any

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

ELEMENT_KINDS = {
    "task": "任务",
    "userTask": "用户任务",
    "serviceTask": "服务任务",
    "scriptTask": "脚本任务",
    "manualTask": "人工任务",
    "businessRuleTask": "业务规则任务",
    "sendTask": "发送任务",
    "receiveTask": "接收任务",
    "callActivity": "调用活动",
    "subProcess": "子流程",
    "transaction": "事务子流程",
    "adHocSubProcess": "自由子流程",
    "exclusiveGateway": "排他网关",
    "parallelGateway": "并行网关",
    "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关",
    "complexGateway": "复杂网关",
    "startEvent": "开始事件",
    "endEvent": "结束事件",
    "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件",
    "boundaryEvent": "边界事件",
    "sequenceFlow": "顺序流",
    "lane": "泳道",
    "process": "流程",
}


def label(el: Any) -> str:
    """`id（名称）` of an XML element (just the id when it has no name)."""
    element_id = el.get("id") or "?"
    name = (el.get("name") or "").strip()
    return f"{element_id}（{name}）" if name and name != element_id else element_id


def kind_label(el: Any) -> str:
    """`用户任务 city_review（市级初审）`: the element's kind, id and name."""
    local = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
    return f"{ELEMENT_KINDS.get(local, '元素')} {label(el)}"


def named(root: Any, element_id: str | None) -> str:
    """`id（名称）` of the element of `root` with that id (the id alone when not found)."""
    if not element_id:
        return ""
    found = root.xpath("//*[@id=$i]", i=element_id) if root is not None else []
    return label(found[0]) if found else element_id


# -- Python SyntaxError ---------------------------------------------------------------------------

_SYNTAX: list[tuple[str, str]] = [  # (regex over the message, Chinese; \1… from the match)
    (r"invalid syntax\. Perhaps you forgot a comma\?", "语法无效，可能漏了逗号"),
    (
        r"invalid syntax\. Maybe you meant '==' or ':=' instead of '='\?",
        "语法无效：这里是比较还是赋值？比较请用 ==",
    ),
    (r"invalid syntax", "语法无效"),
    (
        r"cannot assign to (.+?) here\. Maybe you meant '==' instead of '='\?",
        r"不能给 \1 赋值：比较请用 ==，而不是 =",
    ),
    (r"cannot assign to (.+)", r"不能给 \1 赋值"),
    (r"unterminated triple-quoted string literal.*", "三引号字符串没有结束"),
    (r"unterminated string literal.*", "字符串缺少结尾的引号"),
    (r"EOL while scanning string literal", "字符串缺少结尾的引号"),
    (r"unexpected indent", "多余的缩进（行首不应有空格）"),
    (r"unindent does not match any outer indentation level", "缩进与上文不一致"),
    (r"expected an indented block.*", "此处应有缩进的代码块"),
    (r"'(.)' was never closed", r"括号 \1 没有闭合"),
    (r"unmatched '(.)'", r"多余的右括号 \1"),
    (
        r"closing parenthesis '(.)' does not match opening parenthesis '(.)'.*",
        r"右括号 \1 与左括号 \2 不匹配",
    ),
    (r"invalid decimal literal", "无效的数字写法（数字后紧跟字母或汉字；文字须加引号）"),
    (r"invalid (?:hexadecimal|octal|binary) literal", "无效的数字写法"),
    (
        r"leading zeros in decimal integer literals are not permitted.*",
        "整数不能以 0 开头（如 07 应写成 7）",
    ),
    (r"expected ':'", "缺少冒号 :"),
    (
        r"invalid character '(.)' \((U\+[0-9A-F]+)\)",
        r"无效字符 \1（\2，可能是中文标点，请改用英文标点）",
    ),
    (r"invalid non-printable character (U\+[0-9A-F]+)", r"不可见的无效字符 \1"),
    (r"unexpected EOF while parsing", "代码不完整（意外结束）"),
    (r"unexpected character after line continuation character", "续行符 \\ 后有多余字符"),
    (r"positional argument follows keyword argument", "位置参数不能写在关键字参数之后"),
    (r"f-string: (.+)", r"f-string 写法错误（\1）"),
    (r"'(\w+)' outside (function|loop)", r"\1 只能在函数或循环中使用"),
]


_TARGETS = {"function call": "函数调用", "literal": "常量", "expression": "表达式",
            "comparison": "比较式", "attribute": "属性", "subscript": "下标",
            "conditional expression": "条件表达式", "f-string expression": "f-string"}  # fmt: skip


def syntax_message(error: SyntaxError) -> str:
    """A Python SyntaxError in Chinese, with its line and column in the snippet."""
    text = error.msg or ""
    for pattern, chinese in _SYNTAX:
        found = re.fullmatch(pattern, text)
        if found:
            text = found.expand(chinese)
            for english, words in _TARGETS.items():
                text = text.replace(f"给 {english} 赋值", f"给{words}赋值")
            break
    else:
        text = f"Python 语法错误（{text}）"
    if not text.startswith("无效字符"):
        text += _cjk_hint(error)
    where = f"代码第 {error.lineno} 行" if error.lineno else ""
    if where and error.offset:
        where += f"第 {error.offset} 列"
    return f"{text}（{where}）" if where else text


def _cjk_hint(error: SyntaxError) -> str:
    """Chinese text where Python expects code (`7天`, a full-width comma)."""
    line, offset = error.text or "", error.offset or 0
    near = line[max(offset - 2, 0) : offset + 1]
    if not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", near):
        return ""
    return "：汉字不能直接写在代码中——数字只写数字（如 7），文字要加引号，说明写在 # 之后"


# -- lxml -----------------------------------------------------------------------------------------


def xml_message(error: Exception, file: str) -> str:
    """A file that is not well-formed XML."""
    detail = getattr(error, "msg", None) or str(error)
    kind = (
        "BPMN 图" if file.endswith(".bpmn") else "DMN 规则表" if file.endswith(".dmn") else "文件"
    )
    return (
        f"{kind}文件不是有效的 XML，无法读取"
        "（可能被截断、被其他程序改写，或不是从建模器导出的文件）。"
        f"请在建模器中重新打开并保存，或检查该行的标签是否成对闭合。技术细节：{detail}"
    )


# -- SpiffWorkflow's parser -----------------------------------------------------------------------

_SPIFF: list[tuple[str, str]] = [
    (
        r"Non-default exclusive outgoing sequence flow without condition\.?",
        "网关的这个出口既无条件也不是默认路径",
    ),
    (r"No start event found\.?", "流程没有开始事件"),
    (r"A SubWorkflow Must contain an End event\.?", "子流程必须包含结束事件"),
    (
        r"Exactly one start event is required in a SubWorkflow Task; found (\d+)\.?",
        r"子流程必须恰好有一个开始事件（现有 \1 个）",
    ),
    (r"Invalid Script Task\.\s+No Script Provided\.?\s*", "脚本任务没有填写脚本"),
    (r"A Service Task must have an operator\.?", "服务任务没有指定处理器（serviceTaskOperator）"),
    (
        r"The process '([^']*)' was not found\.(.*)",
        r"调用活动调用的流程 '\1' 不在部署文件中\2",
    ),
    (r"Could not find messageRef from message event definition: (.+)", r"找不到消息定义 \1"),
    (r"Message identifier is missing from bpmn xml\.?", "消息缺少 id"),
    (r"Time Specification Error\..*|Unknown Time Specification\.?", "定时器的时间设置无效"),
    (r"There is no support implemented for this task type\.?", "引擎不支持这种类型的元素"),
    (r"Duplicate process ID: (.+)", r"流程 id \1 重复"),
    (r"Conditional event definition with missing condition\.?", "条件事件缺少条件"),
    (r"Process (\S+) is not executable\.?", r'流程 \1 不可执行（isExecutable 不是 "true"）'),
]


def spiff_message(message: str) -> str:
    """SpiffWorkflow's validation message in Chinese (the technical detail after it)."""
    text = message.strip()
    for pattern, chinese in _SPIFF:
        found = re.match(pattern, text, re.S)
        if found:
            return found.expand(chinese).replace("Did you mean one "
                "of the following:", "是否应为：")  # fmt: skip
    if "xs:" in text or text.startswith("Element '") or "is not a valid value" in text:
        return f"文件不符合 BPMN 2.0 规范（XSD 校验失败）。技术细节：{text}"
    return f"SpiffWorkflow 无法解析此流程。技术细节：{text}"


# -- JSON (forms) ---------------------------------------------------------------------------------

_JSON: list[tuple[str, str]] = [
    (r"Expecting ':' delimiter", "缺少冒号 :（键和值之间）"),
    (r"Expecting ',' delimiter", "缺少逗号 ,（两项之间）"),
    (r"Expecting value", "此处应有一个值（可能多了逗号，或少了引号、括号）"),
    (r"Expecting property name enclosed in double quotes", "键名须用英文双引号括起（或多了逗号）"),
    (r"Unterminated string starting at", "字符串缺少结尾的双引号"),
    (r"Extra data", "JSON 结束后还有多余内容"),
    (r"Invalid control character at", "字符串中有无效的控制字符（如换行）"),
    (r"Invalid \\escape", "无效的转义（反斜杠 \\ 后的字符）"),
]


def json_message(error: ValueError, file: str = "") -> str:
    """A form file that is not JSON, in Chinese with its line and column."""
    detail = getattr(error, "msg", None) or str(error)
    text = next((cn for pattern, cn in _JSON if re.match(pattern, detail)), "格式错误")
    line, column = getattr(error, "lineno", None), getattr(error, "colno", None)
    where = f"第 {line} 行第 {column} 列" if line and column else ""
    return (
        f"表单文件{f' {file} ' if file else ''}不是有效的 JSON：{where}{text}。技术细节：{detail}"
    )


# -- errors of a running case (incidents) ---------------------------------------------------------

_RUNTIME: list[tuple[str, str]] = [
    (r"Invalid duration", '定时器 {where}的时长无效：表达式应给出 ISO 8601 时长（如 "P10D"）'),
    (
        r"Invalid recurring interval",
        '定时器 {where}的周期无效：表达式应给出 ISO 8601 循环（如 "R3/P1D"）',
    ),
    (
        r"Invalid isoformat string.*",
        "定时器 {where}的日期时间无效：表达式应给出带时区的 ISO 8601 日期时间",
    ),
]


def runtime_message(error_type: str, text: str, element: str | None) -> str:
    """An error raised while a case ran, in Chinese where it is known (else as it was)."""
    english = f"{error_type}: {text}"
    for pattern, chinese in _RUNTIME:
        if re.match(pattern, text.strip()):
            where = f"{element} " if element else ""
            return f"{chinese.format(where=where)}。请在流程设计中修正该定时器。技术细节：{english}"
    return english
