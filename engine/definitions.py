"""Deploy and validate BPMN/DMN file sets as numbered, checksummed versions per process key."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from engine import (
    bpmnlint,
    deploy_safety,
    dmn_checks,
    history,
    lint_messages,
    property_checks,
    registry,
    rounds,
    setting_checks,
    structure,
    task_checks,
    writes,
)
from engine.context import Actor, EngineContext
from engine.errors import InvalidDefinition, NotFound
from engine.runtime import make_parser, spec_to_json
from engine.store import TIER_LABELS, Definition

NS = bpmnlint.NS
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
SHARED_DIR = "shared"  # BPMN files here define processes called by others, never deployed alone
REQUIRES_KEY = "@requires_qualification"  # reserved key in Definition.lanes (no column needed)
SPIFF_ORIGIN = "@spiff"  # marks a problem SpiffWorkflow's parser reported (until _distinct)
XML_ORIGIN = "@xml"  # marks the (Chinese) problem of a file that is not well-formed XML
HANDLED_BY_KEY = "@handled_by"  # reserved key: "tier:role,…" from the start event's `handledBy`


@dataclass
class ParsedProcess:
    key: str
    name: str
    bpmn_file: str
    spec_json: str
    lanes: dict[str, str]
    files: dict[str, str]

    @property
    def checksum(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(f"{name}\0{self.files[name]}\0".encode())
        return digest.hexdigest()


def read_directory(directory: Path) -> dict[str, str]:
    """Read a processes/ directory: *.bpmn, rules/*.dmn, forms/*.json (paths relative to it)."""
    files = {}
    for pattern in ("*.bpmn", f"{SHARED_DIR}/*.bpmn", "rules/*.dmn", "forms/*.json"):
        for path in sorted(directory.glob(pattern)):
            files[path.relative_to(directory).as_posix()] = path.read_text(encoding="utf-8")
    return files


BOM = "\ufeff"


def without_bom(files: dict[str, str]) -> dict[str, str]:
    """The file set with the UTF-8 byte order mark of its JSON files dropped (editors on Windows
    write one; JSON forbids it, XML allows it): a form is stored and read without it."""
    return {n: t.removeprefix(BOM) if n.endswith(".json") else t for n, t in files.items()}


def validate(
    files: dict[str, str], lane_aliases: dict[str, str] | None = None
) -> tuple[list[ParsedProcess], list[dict[str, Any]]]:
    """Parse and lint a file set; return the processes it defines and every problem found."""
    problems: list[dict[str, Any]] = []
    files = without_bom(files)
    dmn = {name: text for name, text in files.items() if name.endswith(".dmn")}
    roots = {}
    for name, text in files.items():
        if name.endswith((".bpmn", ".dmn")):
            try:
                roots[name] = etree.fromstring(text.encode())
            except etree.XMLSyntaxError as error:
                message = lint_messages.xml_message(error, name)
                found = bpmnlint.problem(name, None, error.lineno, message)
                problems.append(found | {XML_ORIGIN: True})
    if dmn or _uses_rules(roots):  # a BPMN-only set without rule operators needs no rule tables
        problems += registry.validate_rules(registry.RuleSet(dmn))
        problems += dmn_checks.check(files)
    problems += registry.validate_files(files)
    problems += schedule_problems(files)
    for name in sorted(n for n in roots if n.endswith(".dmn")):
        problems += duplicate_ids(roots[name], name)  # dmn-js drops all but one on load
    duplicated = set()
    for name in sorted(n for n in roots if n.endswith(".bpmn")):
        if found := duplicate_ids(roots[name], name):
            duplicated.add(name)
            problems += found
        problems += bpmnlint.lint_timers(roots[name], name)
        problems += structure.lint_structure(roots[name], name)
        problems += property_checks.lint_properties(roots[name], name, files)
        problems += bpmnlint.lint_condition_values(roots[name], name, files)
        problems += task_checks.lint(roots[name], name, files)
    processes = []
    library = _process_index(roots)
    for name in sorted(
        n for n in roots if n.endswith(".bpmn") and not n.startswith(f"{SHARED_DIR}/")
    ):
        found, found_problems = _parse_bpmn(
            name, roots[name], files, dmn, lane_aliases, library, parse=name not in duplicated
        )
        processes += found
        problems += found_problems
    if not processes and not problems:
        problems.append(
            bpmnlint.problem("", None, None, '部署文件中没有可执行的流程（isExecutable="true"）')
        )
    return processes, _distinct(_with_lines(problems, roots, files))


# BPMN (http://www.omg.org/spec/BPMN/…) and DMN (https://www.omg.org/spec/DMN/…) model and
# diagram elements, whose ids are xs:ID
OMG = ("{http://www.omg.org/spec/", "{https://www.omg.org/spec/")
_DUPLICATE_HINT = {
    ".bpmn": "请改名其中之一（连同引用它的顺序流、泳道等）",
    ".dmn": "请改名其中之一"
    "（DMN 建模器打开文件时只保留其中一个元素，保存后部署的规则表就少了另一个）",
}


def duplicate_ids(root: Any, file: str) -> list[dict[str, Any]]:
    """Ids used by more than one BPMN or DMN element of a file (the XSDs require them unique)."""
    seen: dict[str, list[int]] = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith(OMG) and el.get("id"):
            seen.setdefault(el.get("id"), []).append(el.sourceline)
    hint = _DUPLICATE_HINT[".dmn" if file.endswith(".dmn") else ".bpmn"]
    return [
        bpmnlint.problem(
            file,
            element_id,
            lines[1],
            f"元素 id {element_id!r} 重复（第 {'、'.join(map(str, lines))} 行）：每个元素的 id "
            f"在文件中必须唯一，{hint}",
        )
        for element_id, lines in seen.items()
        if len(lines) > 1
    ]


def _with_lines(
    problems: list[dict[str, Any]], roots: dict[str, Any], files: dict[str, str]
) -> list[dict[str, Any]]:
    """Fill in the line of problems that name an element of a BPMN/DMN file, or a property of a
    form, but no line (a property the form lacks: the line of its `properties`, where it goes)."""
    out = []
    for found in problems:
        name, element = found.get("file") or "", found.get("element_id")
        root = roots.get(name)
        if found.get("line") is None and element and root is not None:
            line = bpmnlint.element_line(root, element)
            if line is None and name.endswith(".dmn"):  # a decision the file lacks: the cell
                line = _quoting_line(root, element)  # naming it (an indicator's `decision`)
            found = found | {"line": line}
        elif found.get("line") is None and element and name.endswith(".json") and name in files:
            text = files[name]
            line = bpmnlint.json_line(text, element) or bpmnlint.json_line(text, "properties")
            found = found | {"line": line}
        out.append(found)
    return out


def _quoting_line(root: Any, value: str) -> int | None:
    """The line of the first DMN cell whose text is `"value"`."""
    cells = root.xpath("//*[local-name()='text'][normalize-space(.)=$t]", t=f'"{value}"')
    return cells[0].sourceline if cells else None


def schedule_problems(files: dict[str, str]) -> list[dict[str, Any]]:
    """Problems of a round schedule (`rounds.json`) in a file set, checked as the scheduler reads
    it (`engine.rounds`): each entry's fields, its procedure (a process of the set's diagrams,
    when it has any) and one entry per procedure. Each problem names the field and its line."""
    text = files.get(rounds.SCHEDULE_FILE)
    if text is None:
        return []
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        message = f"{rounds.SCHEDULE_FILE} 不是有效的 JSON，无法读取。技术细节：{error.msg}"
        return [bpmnlint.problem(rounds.SCHEDULE_FILE, None, error.lineno, message)]
    keys = {
        key
        for name, diagram in files.items()
        if name.endswith(".bpmn")
        for key in rounds._PROCESS_ID.findall(diagram)
    }
    return [
        bpmnlint.problem(rounds.SCHEDULE_FILE, field, _schedule_line(text, field), "；".join(why))
        for field, why in schedule_errors(text, keys).items()
    ]


def schedule_errors(text: str, process_keys: set[str]) -> dict[str, list[str]]:
    """{field: [message]} for a schedule's text, as `rounds.load_schedules` refuses the file (with
    the scheduler's own check of the entries, `rounds.read_entries`)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        return {"-": [f"{rounds.SCHEDULE_FILE} 不是有效的 JSON：{error}"]}
    items = raw.get("rounds") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        return {"rounds": [f"{rounds.SCHEDULE_FILE} 应包含 rounds 列表：必填"]}
    return rounds.read_entries(items, process_keys)[1]


def _schedule_line(text: str, field: str) -> int | None:
    """The line of `rounds[i].name` (else of entry i, else of the key) in a schedule's text."""
    found = re.fullmatch(r"rounds\[(\d+)\](?:\.(\w+))?", field)
    if found is None:
        return bpmnlint.json_line(text, field) or 1
    starts = _array_items(text, "rounds")
    index = int(found.group(1))
    if index >= len(starts):
        return bpmnlint.json_line(text, "rounds")
    begin, end = starts[index], starts[index + 1] if index + 1 < len(starts) else len(text)
    if found.group(2):
        key = re.compile(rf'"{re.escape(found.group(2))}"\s*:').search(text, begin, end)
        if key is not None:
            begin = key.start()
    return text[:begin].count("\n") + 1


def _array_items(text: str, key: str) -> list[int]:
    """Offsets where the items of the top-level array `key` of a JSON text start."""
    opened = re.search(rf'"{re.escape(key)}"\s*:\s*\[', text)
    if opened is None:
        return []
    starts, depth, quoted, escaped = [], 0, False, False
    for at in range(opened.end(), len(text)):
        char = text[at]
        if quoted:
            quoted, escaped = (escaped or char != '"'), (not escaped and char == "\\")
            continue
        if char.isspace() or char == ",":
            continue
        if depth == 0 and char == "]":
            break
        if depth == 0:
            starts.append(at)
        if char == '"':
            quoted = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return starts


def _distinct(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each problem once (a file's XML error is found by two checks, a shared form by each task
    that uses it; SpiffWorkflow's own message on an element a check of ours names is dropped)."""
    ours = {(p.get("file"), p.get("element_id")) for p in problems if not p.get(SPIFF_ORIGIN)}
    unreadable = {p.get("file") for p in problems if p.get(XML_ORIGIN)}
    seen, out = set(), []
    for found in problems:
        key = (found.get("file"), found.get("element_id"), found.get("line"), found.get("message"))
        if found.pop(XML_ORIGIN, False) is False and found.get("file") in unreadable:
            if found.get("message", "").startswith("XML 格式错误"):
                continue  # the rule-table reader's terse version of the file's XML problem
        if found.pop(SPIFF_ORIGIN, False) and found.get("element_id"):
            if (found.get("file"), found.get("element_id")) in ours:
                continue  # SpiffWorkflow's view of what a check of ours already reports
        if key not in seen:
            seen.add(key)
            out.append(found)
    return out


_XSD_ID = re.compile(r"attribute 'id': '([^']*)' is not a valid value of the atomic type 'xs:ID'")


def _uses_rules(roots: dict[str, Any]) -> bool:
    """Whether any service task of the set calls an operator that reads rule tables."""
    for root in roots.values():
        for op in root.iter("{http://spiffworkflow.org/bpmn/schema/1.0/core}serviceTaskOperator"):
            if op.get("id") in registry.names() and registry.get(op.get("id")).uses_rules:
                return True
    return False


def _process_index(roots: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Process id -> (file, root) for every BPMN file of the set (call activities resolve here)."""
    index = {}
    for name, root in roots.items():
        if name.endswith(".bpmn"):
            for proc in root.iterfind("bpmn:process", NS):
                index.setdefault(proc.get("id"), (name, root))
    return index


def _called_files(
    name: str, root: Any, library: dict[str, tuple[str, Any]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Files defining the processes `root` calls (transitively); a call cycle is a problem."""
    found: list[str] = []
    problems: list[dict[str, Any]] = []

    def visit(file: str, tree: Any, path: list[str]) -> None:
        for call in tree.iterfind(".//bpmn:callActivity", NS):
            target = call.get("calledElement")
            if target not in library:
                continue  # the parser names the missing process
            called_file, called_root = library[target]
            if called_file in path:
                chain = " → ".join([*path, called_file])
                problems.append(
                    bpmnlint.problem(
                        file, call.get("id"), call.sourceline, f"调用活动形成循环调用：{chain}"
                    )
                )
                continue
            if called_file not in found and called_file != name:
                found.append(called_file)
                visit(called_file, called_root, [*path, called_file])

    visit(name, root, [name])
    return found, problems


def _start_property(root: Any, name: str) -> Any:
    """The start event's `spiffworkflow:property` called `name` with a value, or None."""
    for prop in root.iterfind(f".//bpmn:startEvent//{SPIFF}property", NS):
        if prop.get("name") == name and (prop.get("value") or "").strip():
            return prop
    return None


def requirement_of(root: Any) -> str | None:
    """The qualification tier a process's start event requires (`requiresQualification`)."""
    prop = _start_property(root, "requiresQualification")
    return prop.get("value").strip() if prop is not None else None


def handled_by_of(
    root: Any, file: str, lanes: dict[str, str]
) -> tuple[str | None, list[dict[str, Any]]]:
    """The start event's `handledBy` ("innovative:city,…": which role handles a case about a
    qualification of each tier, e.g. 第十三条's 相应中小企业主管部门), normalized, or problems:
    every tier must be known and every role one of the diagram's lanes."""
    prop = _start_property(root, "handledBy")
    if prop is None:
        return None, []
    pairs, problems = [], []
    roles = {role for key, role in lanes.items() if not key.startswith("@")}
    for item in prop.get("value").split(","):
        tier, _, role = (part.strip() for part in item.partition(":"))
        if tier not in TIER_LABELS or role not in roles:
            message = (
                f"handledBy 的 {item.strip()!r} 应为 梯度:角色（梯度：{'、'.join(TIER_LABELS)}；"
                f"角色为本图泳道之一：{'、'.join(sorted(roles))}）"
            )
            problems.append(bpmnlint.problem(file, "handledBy", prop.sourceline, message))
        pairs.append(f"{tier}:{role}")
    return ",".join(pairs), problems


def _with_start_properties(
    root: Any, file: str, lanes: dict[str, str]
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """`lanes` with the start event's `requiresQualification` and `handledBy` under their
    reserved keys, and the problems of the latter."""
    if requirement := requirement_of(root):
        lanes = lanes | {REQUIRES_KEY: requirement}
    by_tier, problems = handled_by_of(root, file, lanes)
    if by_tier:
        lanes = lanes | {HANDLED_BY_KEY: by_tier}
    return lanes, problems


def handled_by(definition: Definition) -> dict[str, str]:
    """The `handledBy` table of a deployed definition (empty when its diagram has none)."""
    text = (definition.lanes or {}).get(HANDLED_BY_KEY) or ""
    return dict(item.split(":", 1) for item in text.split(",") if item)


def _called_lanes(
    called: list[str],
    files: dict[str, str],
    lanes: dict[str, str],
    lane_aliases: dict[str, str] | None,
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """User tasks of a called diagram take the roles of its own lanes."""
    problems: list[dict[str, Any]] = []
    for called_name in called:
        called_root = etree.fromstring(files[called_name].encode())
        called_lanes, called_problems = bpmnlint.lane_map(called_root, called_name, lane_aliases)
        lanes = called_lanes | lanes
        problems += called_problems + bpmnlint.lint_gateways(called_root, called_name)
    return lanes, problems


def _lint_called(
    subs: dict[str, Any], files: dict[str, str], name: str, lanes: dict[str, str]
) -> list[dict[str, Any]]:
    """Lint the specs of called processes against their own files."""
    problems: list[dict[str, Any]] = []
    for sub in subs.values():
        sub_file = sub.file if sub.file in files else name
        sub_root = etree.fromstring(files[sub_file].encode())
        problems += bpmnlint.lint_code(sub, sub_root, sub_file)
        problems += bpmnlint.lint_tasks(sub, sub_root, sub_file, lanes, files)
    return problems


def _lint_diagram(
    name: str,
    root: Any,
    files: dict[str, str],
    lane_aliases: dict[str, str] | None,
    library: dict[str, tuple[str, Any]] | None,
) -> tuple[dict[str, str], list[str], list[dict[str, Any]], bool]:
    """Host-side checks of a top-level diagram: (lanes, called files, problems, parsable)."""
    problems: list[dict[str, Any]] = []
    lanes, lane_problems = bpmnlint.lane_map(root, name, lane_aliases)
    problems += lane_problems + bpmnlint.lint_gateways(root, name)
    called, call_problems = _called_files(name, root, library or {})
    problems += setting_checks.check_settings(name, root, files, called)
    problems += setting_checks.check_names(name, root, files, called)
    problems += setting_checks.check_outcomes(name, root)
    if broken := bpmnlint.lint_references(root, name):
        return lanes, called, problems + broken, False  # SpiffWorkflow would name the wrong
    if call_problems:  # element and cause
        return lanes, called, problems + call_problems, False
    lanes, called_problems = _called_lanes(called, files, lanes, lane_aliases)
    lanes, start_problems = _with_start_properties(root, name, lanes)
    return lanes, called, problems + called_problems + start_problems, True


def _parse_bpmn(
    name: str,
    root: Any,
    files: dict[str, str],
    dmn: dict[str, str],
    lane_aliases: dict[str, str] | None = None,
    library: dict[str, tuple[str, Any]] | None = None,
    parse: bool = True,
) -> tuple[list[ParsedProcess], list[dict[str, Any]]]:
    """Lint one top-level diagram and parse it (`parse` False: its ids are not unique, and the
    XSD would name a duplicated id without its element or line)."""
    lanes, called, problems, ok = _lint_diagram(name, root, files, lane_aliases, library)
    if not ok or not parse:
        return [], problems
    parser = make_parser()
    keys = [
        p.get("id") for p in root.iterfind("bpmn:process", NS) if p.get("isExecutable") == "true"
    ]
    if not keys:
        return [], [
            *problems,
            bpmnlint.problem(name, None, None, '文件中没有可执行的流程（isExecutable="true"）'),
        ]
    out = []
    try:
        parser.add_bpmn_xml(root, filename=name)
        for called_name in called:
            parser.add_bpmn_xml(etree.fromstring(files[called_name].encode()), filename=called_name)
        uses_dmn = root.find(".//bpmn:businessRuleTask", NS) is not None
        for dmn_name, text in dmn.items() if uses_dmn else ():
            parser.add_dmn_xml(etree.fromstring(text.encode()), filename=dmn_name)
        for key in keys:
            spec = parser.get_spec(key)
            subs = parser.get_subprocess_specs(key)
            problems += bpmnlint.lint_code(spec, root, name)
            problems += bpmnlint.lint_tasks(spec, root, name, lanes, files)
            problems += _lint_called(subs, files, name, lanes)
            forms = set().union(_forms_of(spec), *(_forms_of(sub) for sub in subs.values()))
            # every DMN (and so every form a rule table names) goes in: a stored version's files
            # must deploy again on their own (the modeler page redeploys them)
            rule_forms = {f for f in files if f.startswith("forms/")} if dmn else set()
            used = {name} | set(called) | set(dmn) | (forms | rule_forms) & set(files)
            proc = root.xpath("//bpmn:process[@id=$i]", namespaces=NS, i=key)[0]
            out.append(
                ParsedProcess(
                    key,
                    proc.get("name") or key,
                    name,
                    spec_to_json(spec, subs),
                    lanes,
                    {f: files[f] for f in sorted(used)},
                )
            )
    except ValidationException as error:
        line = error.line_number or bpmnlint.element_line(root, error.id)
        message = _clean(str(error))
        if duplicate := _XSD_ID.search(message):  # a called file (its own are checked first)
            element_id = duplicate.group(1)
            message = f"元素 id {element_id!r} 重复：每个元素的 id 在文件中必须唯一"
            problems.append(bpmnlint.problem(error.file_name or name, element_id, line, message))
        else:  # dropped by _distinct when a check of ours names the same element
            chinese = lint_messages.spiff_message(message)
            found = bpmnlint.problem(
                error.file_name or name, error.id or None, line or None, chinese
            )
            problems.append(found | {SPIFF_ORIGIN: True})
    except Exception as error:
        problems.append(
            bpmnlint.problem(
                name,
                getattr(error, "id", None),
                getattr(error, "lineno", None),
                f"流程解析失败。技术细节：{type(error).__name__}: {_clean(str(error))}",
            )
        )
    return out, problems


def _clean(message: str) -> str:
    """Drop Python internals (object reprs) from parser messages."""
    return re.sub(r"<[^<>]* at 0x[0-9a-f]+>", "<元素>", message).strip()


def _forms_of(spec: Any) -> set[str]:
    forms = set()
    for ts in spec.task_specs.values():
        form = (
            (getattr(ts, "extensions", None) or {})
            .get("properties", {})
            .get("formJsonSchemaFilename")
        )
        if form:
            forms.add(form)
    return forms


def deploy(ctx: EngineContext, *, files: dict[str, str], actor: Actor) -> list[Definition]:
    """Validate a file set and store each process as version N+1 (identical content: no-op)."""
    return deploy_set(ctx, files=files, actor=actor, force=True).rows


@dataclass
class Deployment:
    """What a deploy stored, skipped and warns about (`deploy_set`)."""

    rows: list[Definition]
    warnings: list[dict[str, Any]]  # {file, element_id, message}
    skipped: list[dict[str, Any]]  # newer versions deployed from elsewhere, kept
    shared: dict[str, list[dict[str, Any]]]  # process key -> changed shared files and their users


def deploy_set(
    ctx: EngineContext,
    *,
    files: dict[str, str],
    actor: Actor,
    source: str = deploy_safety.DIRECTORY,
    based_on: dict[str, int] | None = None,
    force: bool = False,
) -> Deployment:
    """Validate and store a file set (see `deploy`), refusing what would break open rounds, an
    edit of an older version (unless `force`), and, from a directory, keeping a newer version
    deployed from elsewhere (unless `force`)."""
    processes, problems = validate(files, ctx.settings.lane_aliases)
    if problems:
        raise InvalidDefinition(f"{len(problems)} 个问题", errors=problems)
    with ctx.transaction() as session:
        latest = {p.key: _latest_row(session, p.key) for p in processes}
        if based_on and not force:
            deploy_safety.refuse_outdated(processes, latest, based_on)
        found, warnings = deploy_safety.round_problems(ctx, session, processes, files, latest)
        if found:
            raise InvalidDefinition(f"{len(found)} 个问题", errors=found)
        skipped = [] if force or source != deploy_safety.DIRECTORY else _foreign(processes, latest)
        kept = {s["process_key"] for s in skipped}
        rows, shared = [], {}
        for proc in processes:
            if proc.key in kept:
                continue
            rows.append(_store(ctx, session, proc, actor, latest[proc.key], source))
            if users := deploy_safety.shared_users(session, proc, latest[proc.key]):
                shared[proc.key] = users
        return Deployment(rows, warnings, skipped, shared)


def check_rounds(ctx: EngineContext, files: dict[str, str]) -> tuple[list[Any], list[Any]]:
    """(problems, warnings) of a valid set's rule dates against open and scheduled rounds."""
    processes, problems = validate(files, ctx.settings.lane_aliases)
    if problems:
        return [], []
    with ctx.reading() as session:
        latest = {p.key: _latest_row(session, p.key, lock=False) for p in processes}
        return deploy_safety.round_problems(ctx, session, processes, files, latest)


def _foreign(
    processes: list[ParsedProcess], latest: dict[str, Definition | None]
) -> list[dict[str, Any]]:
    """Procedures whose latest version was not deployed from a directory and differs from it."""
    return [
        {
            "process_key": proc.key,
            "name": proc.name,
            "version": row.version,
            "deployed_by": row.deployed_by,
            "source": deploy_safety.source_of(row),
        }
        for proc in processes
        if (row := latest[proc.key]) is not None
        and row.checksum != proc.checksum
        and deploy_safety.source_of(row) != deploy_safety.DIRECTORY
    ]


def _latest_row(session: Session, key: str, *, lock: bool = True) -> Definition | None:
    query = (
        select(Definition)
        .where(Definition.process_key == key)
        .order_by(Definition.version.desc())
        .limit(1)
    )
    return session.scalars(query.with_for_update() if lock else query).first()


def _store(
    ctx: EngineContext,
    session: Session,
    proc: ParsedProcess,
    actor: Actor,
    latest: Definition | None,
    source: str,
) -> Definition:
    if latest is not None and latest.checksum == proc.checksum:
        return latest
    now = ctx.now()
    row = Definition(
        process_key=proc.key,
        version=(latest.version + 1) if latest else 1,
        name=proc.name,
        checksum=proc.checksum,
        bpmn_file=proc.bpmn_file,
        files=proc.files,
        spec_json=proc.spec_json,
        lanes=proc.lanes | {deploy_safety.SOURCE_KEY: source},
        deployed_at=now,
        deployed_by=actor.id,
    )
    session.add(row)
    session.flush()
    history.append(
        session,
        stream=f"definition:{proc.key}",
        kind="definition.deployed",
        actor=actor.id,
        at=now,
        definition_id=row.id,
        data={
            "process_key": proc.key,
            "version": row.version,
            "checksum": row.checksum,
            "source": source,
            "files": {n: hashlib.sha256(t.encode()).hexdigest() for n, t in proc.files.items()},
        },
    )
    return row


_LATEST = (
    select(Definition.id)
    .where(Definition.process_key == bindparam("process_key"))
    .order_by(Definition.version.desc())
    .limit(1)
)


def latest(session: Session, process_key: str, ctx: EngineContext) -> Definition:
    """The newest deployed version of a process (its row read once per process, see by_id)."""
    session.flush()  # a version deployed in this command counts
    found = writes.fetch(session, _LATEST, {"process_key": process_key}, 1)
    if not found:
        raise NotFound(f"流程 {process_key} 尚未部署")
    return by_id(ctx, session, found[0][0])


def by_id(ctx: EngineContext, session: Session, definition_id: int) -> Definition:
    """A deployed version, read once per process: versions never change after deployment.

    The cached row is detached from any session; read its columns, never modify it.
    """
    cache = ctx.caches.setdefault("definitions", {})
    row = cache.get(definition_id)
    if row is None:
        row = session.scalars(select(Definition).where(Definition.id == definition_id)).first()
        if row is None:
            raise NotFound(f"流程版本 {definition_id} 不存在")
        session.expunge(row)
        cache[definition_id] = row
    return row


def get(session: Session, process_key: str, version: int, ctx: EngineContext) -> Definition:
    """One deployed version of a process (its row read once per process, see by_id)."""
    found = session.scalars(
        select(Definition.id).where(
            Definition.process_key == process_key, Definition.version == version
        )
    ).first()
    if found is None:
        raise NotFound(f"流程 {process_key} 没有版本 {version}")
    return by_id(ctx, session, found)


def list_definitions(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Definition).order_by(Definition.process_key, Definition.version)
    ).all()
    return [
        {
            "process_key": r.process_key,
            "version": r.version,
            "name": r.name,
            "checksum": r.checksum,
            "deployed_at": r.deployed_at,
            "deployed_by": r.deployed_by,
            "id": r.id,
        }
        for r in rows
    ]


def max_version(session: Session, process_key: str) -> int:
    return (
        session.scalar(
            select(func.max(Definition.version)).where(Definition.process_key == process_key)
        )
        or 0
    )


def form_schema(definition: Definition, form: str | None) -> dict[str, Any] | None:
    if not form or form not in definition.files:
        return None
    return json.loads(definition.files[form].removeprefix(BOM))  # none since `without_bom`


_INSTRUCTIONS: dict[str, dict[str, str]] = {}  # definition checksum -> {task id: text}


def instructions(definition: Definition, bpmn_id: str) -> str | None:
    """What the diagram tells the person doing a task (spiffworkflow:instructionsForEndUser),
    looked up in every BPMN file of the version (a task may sit in a called sub-process)."""
    found = _INSTRUCTIONS.get(definition.checksum)
    if found is None:
        found = {}
        for name, text in definition.files.items():
            if not name.endswith(".bpmn"):
                continue
            for task in etree.fromstring(text.encode()).iter(f"{{{bpmnlint.BPMN_NS}}}userTask"):
                note = task.findtext(f".//{SPIFF}instructionsForEndUser")
                if note and note.strip():
                    found[task.get("id")] = note.strip()
        if len(_INSTRUCTIONS) > 256:
            _INSTRUCTIONS.clear()
        _INSTRUCTIONS[definition.checksum] = found
    return found.get(bpmn_id)


SETTINGS_NAME = "流程参数"  # the script task holding a diagram's defaults (docs/modelling.md)


def _literal_line(line: str) -> tuple[str, Any, str] | None:
    """`name = literal  # note` -> (name, value, note); None for any other line."""
    import ast

    match = re.match(r"^([A-Za-z_]\w*)\s*=\s*(.+)$", line.strip())
    if not match:
        return None
    rest = match.group(2)
    cuts = [i for i, ch in enumerate(rest) if ch == "#"] + [len(rest)]
    for cut in cuts:  # the first '#' outside the literal starts the note
        try:
            value = ast.literal_eval(rest[:cut].strip())
        except (ValueError, SyntaxError):
            continue
        return match.group(1), value, rest[cut + 1 :].strip()
    return None


def settings_of(xml: str) -> list[dict[str, Any]]:
    """The defaults a process owner may change: every `name = literal  # note` line of the
    diagram's 流程参数 script tasks, with the task's id (lines computed from others are left
    out: they follow the literals)."""
    root = etree.fromstring(xml.encode())
    out = []
    for task in root.iterfind(".//bpmn:scriptTask", NS):
        if task.get("name") != SETTINGS_NAME:
            continue
        script = task.findtext("bpmn:script", default="", namespaces=NS)
        for line in script.splitlines():
            found = _literal_line(line)
            if found is not None:
                name, value, note = found
                out.append({"element_id": task.get("id"), "name": name, "value": value,
                            "note": note})  # fmt: skip
    return out
