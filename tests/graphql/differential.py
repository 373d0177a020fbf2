#!/usr/bin/python3
"""Differential test of a GraphQL engine against graphql-js (the reference implementation).

    differential.py --runner PATH [--oracle-cmd 'node tests/graphql/oracle.js'] [cases.json ...]
    differential.py --self-test [cases.json ...]

Both the runner (the engine under test) and the oracle (tests/graphql/oracle.js, graphql-js 16.9.0)
are run as `CMD file1.json file2.json ...` and print one JSON array of {"name", "result"}, one per
case in case order (the case format and the result format are described in README.md). Per case:

  * schema_errors: both reject the case's schema or neither does (messages are not compared);
  * data: present in both or in neither; when present equal exactly, object key order included
    (numbers compare by value: 1 and 1.0 are the same number, true is not 1);
  * errors: the same number, and the same multiset of (class, path, locations), where the class
    of a message comes from CLASSES below (a message that matches no regex is a class of its own,
    and is listed in the report so the table can be completed). Exact message matches are counted
    but do not decide agreement.

Exit status: 0 when every case agrees, 1 on any disagreement (or, with --self-test, when an oracle
message matches no regex of the table), 2 when a command fails or prints something unreadable.
Standard library only.
"""

import argparse
import collections
import glob
import json
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ORACLE_CMD = "node " + shlex.quote(os.path.join(HERE, "oracle.js"))

NAME = r'[_A-Za-z][_0-9A-Za-z]*'
VAR_INVALID = r'^Variable "\$' + NAME + r'" got invalid value .*?; '

# Ordered (regex, class) table: the first regex matching a message (re.DOTALL, re.match) gives its
# class. The templates are graphql-js 16.9.0's (validation/rules/*.js, execution/*.js,
# utilities/coerceInputValue.js, type/scalars.js, type/definition.js, language/lexer.js, parser.js).
CLASSES = [
    # --- language/lexer.js, language/parser.js: every syntax error, lexical or grammatical
    (r'^Syntax Error: ', 'syntax'),

    # --- execution/execute.js: choosing the operation, its root type
    (r'^Must provide an operation\.$', 'operation:none'),
    (r'^Must provide operation name if query contains multiple operations\.$', 'operation:name-required'),
    (r'^Unknown operation named ".*"\.$', 'operation:unknown-name'),
    (r'^Schema is not configured to execute (query|mutation|subscription) operation\.$',
     'operation:root-type-missing'),

    # --- execution/values.js getVariableValues + utilities/coerceInputValue.js: variable values
    (r'^Variable "\$' + NAME + r'" of required type ".*" was not provided\.$', 'variable:required-not-provided'),
    (r'^Variable "\$' + NAME + r'" of non-null type ".*" must not be null\.$', 'variable:non-null-is-null'),
    (r'^Variable "\$' + NAME + r'" expected value of type ".*" which cannot be used as an input type\.$',
     'variable:not-input-type'),
    (VAR_INVALID + r'Expected non-nullable type ".*" not to be null\.$', 'variable:invalid:null-for-non-null'),
    (VAR_INVALID + r'Expected type ".*" to be an object\.$', 'variable:invalid:not-an-object'),
    (VAR_INVALID + r'Field ".*" of required type ".*" was not provided\.$', 'variable:invalid:missing-field'),
    (VAR_INVALID + r'Field ".*" is not defined by type ".*"\.( Did you mean .*\?)?$', 'variable:invalid:unknown-field'),
    (VAR_INVALID + r'Exactly one key must be specified for OneOf type ".*"\.$', 'variable:invalid:oneof-key-count'),
    (VAR_INVALID + r'Field ".*" must be non-null\.$', 'variable:invalid:oneof-null'),
    (VAR_INVALID + r'Int cannot represent non-integer value: ', 'variable:invalid:Int-non-integer'),
    (VAR_INVALID + r'Int cannot represent non 32-bit signed integer value: ', 'variable:invalid:Int-range'),
    (VAR_INVALID + r'Float cannot represent non numeric value: ', 'variable:invalid:Float'),
    (VAR_INVALID + r'String cannot represent a non string value: ', 'variable:invalid:String'),
    (VAR_INVALID + r'Boolean cannot represent a non boolean value: ', 'variable:invalid:Boolean'),
    (VAR_INVALID + r'ID cannot represent value: ', 'variable:invalid:ID'),
    (VAR_INVALID + r'Enum ".*" cannot represent non-string value: ', 'variable:invalid:enum-non-string'),
    (VAR_INVALID + r'Value ".*" does not exist in ".*" enum\.', 'variable:invalid:enum-unknown-value'),
    (VAR_INVALID + r'Expected type ".*"\.', 'variable:invalid:custom-scalar'),
    (r'^Variable "\$' + NAME + r'" got invalid value ', 'variable:invalid:other'),
    (r'^Too many errors processing variables, error limit reached\. Execution aborted\.$', 'variable:too-many-errors'),

    # --- validation/rules/*.js: one class per rule of specifiedRules
    (r'^The (schema|".*") definition is not executable\.$', 'validation:ExecutableDefinitions'),
    (r'^There can be only one operation named ".*"\.$', 'validation:UniqueOperationNames'),
    (r'^This anonymous operation must be the only defined operation\.$', 'validation:LoneAnonymousOperation'),
    (r'^(Subscription ".*"|Anonymous Subscription) must (select only one top level field|not select an introspection top level field)\.$',
     'validation:SingleFieldSubscriptions'),
    (r'^Unknown type ".*"\.( Did you mean .*\?)?$', 'validation:KnownTypeNames'),
    (r'^Fragment (".*" )?cannot condition on non composite type ".*"\.$', 'validation:FragmentsOnCompositeTypes'),
    (r'^Variable "\$' + NAME + r'" cannot be non-input type ".*"\.$', 'validation:VariablesAreInputTypes'),
    (r'^Field ".*" must not have a selection since type ".*" has no subfields\.$', 'validation:ScalarLeafs'),
    (r'^Field ".*" of type ".*" must have a selection of subfields\. Did you mean ".* \{ \.\.\. \}"\?$', 'validation:ScalarLeafs'),
    (r'^Cannot query field ".*" on type ".*"\.( Did you mean .*\?)?$', 'validation:FieldsOnCorrectType'),
    (r'^There can be only one fragment named ".*"\.$', 'validation:UniqueFragmentNames'),
    (r'^Unknown fragment ".*"\.$', 'validation:KnownFragmentNames'),
    (r'^Fragment ".*" is never used\.$', 'validation:NoUnusedFragments'),
    (r'^Fragment (".*" )?cannot be spread here as objects of type ".*" can never be of type ".*"\.$',
     'validation:PossibleFragmentSpreads'),
    (r'^Cannot spread fragment ".*" within itself( via .*)?\.$', 'validation:NoFragmentCycles'),
    (r'^There can be only one variable named "\$' + NAME + r'"\.$', 'validation:UniqueVariableNames'),
    (r'^Variable "\$' + NAME + r'" is not defined( by operation ".*")?\.$', 'validation:NoUndefinedVariables'),
    (r'^Variable "\$' + NAME + r'" is never used( in operation ".*")?\.$', 'validation:NoUnusedVariables'),
    (r'^Unknown directive "@.*"\.$', 'validation:KnownDirectives'),
    (r'^Directive "@.*" may not be used on [A-Z_]+\.$', 'validation:KnownDirectives'),
    (r'^The directive "@.*" can only be used once at this location\.$', 'validation:UniqueDirectivesPerLocation'),
    (r'^Unknown argument ".*" on (field ".*\..*"|directive "@.*")\.( Did you mean .*\?)?$', 'validation:KnownArgumentNames'),
    (r'^There can be only one argument named ".*"\.$', 'validation:UniqueArgumentNames'),
    (r'^Expected value of type ".*", found .*$', 'validation:ValuesOfCorrectType'),
    (r'^Field "[^"]*\.[^"]*" of required type ".*" was not provided\.$', 'validation:ValuesOfCorrectType'),
    (r'^Field ".*" is not defined by type ".*"\.( Did you mean .*\?)?$', 'validation:ValuesOfCorrectType'),
    (r'^OneOf Input Object ".*" must specify exactly one key\.$', 'validation:ValuesOfCorrectType'),
    (r'^Field "[^"]*\.[^"]*" must be non-null\.$', 'validation:ValuesOfCorrectType'),
    (r'^Variable "' + NAME + r'" must be non-nullable to be used for OneOf Input Object ".*"\.$',
     'validation:ValuesOfCorrectType'),
    (r'^Field ".*" argument ".*" of type ".*" is required, but it was not provided\.$', 'validation:ProvidedRequiredArguments'),
    (r'^Directive "@.*" argument ".*" of type ".*" is required, but it was not provided\.$', 'validation:ProvidedRequiredArguments'),
    (r'^Variable "\$' + NAME + r'" of type ".*" used in position expecting type ".*"\.$', 'validation:VariablesInAllowedPosition'),
    (r'^Fields ".*" conflict because .*\. Use different aliases on the fields to fetch both if this was intentional\.$',
     'validation:OverlappingFieldsCanBeMerged'),
    (r'^There can be only one input field named ".*"\.$', 'validation:UniqueInputFieldNames'),
    (r'^Maximum introspection depth exceeded$', 'validation:MaxIntrospectionDepth'),

    # --- type/scalars.js, type/definition.js (enums): a literal's parseLiteral error is reported
    # as it is by ValuesOfCorrectType (no path); serialize errors are execution errors (a path).
    (r'^Int cannot represent non-integer value: ', 'scalar:Int-non-integer'),
    (r'^Int cannot represent non 32-bit signed integer value: ', 'scalar:Int-range'),
    (r'^Float cannot represent non numeric value: ', 'scalar:Float'),
    (r'^String cannot represent a non string value: ', 'scalar:String-literal'),
    (r'^String cannot represent value: ', 'scalar:String-serialize'),
    (r'^Boolean cannot represent a non boolean value: ', 'scalar:Boolean'),
    (r'^ID cannot represent a non-string and non-integer value: ', 'scalar:ID-literal'),
    (r'^ID cannot represent value: ', 'scalar:ID-serialize'),
    (r'^Enum ".*" cannot represent value: ', 'enum:serialize'),
    (r'^Enum ".*" cannot represent non-enum value: ', 'enum:literal-not-enum-value'),
    (r'^Enum ".*" cannot represent non-string value: ', 'enum:non-string'),
    (r'^Value ".*" does not exist in ".*" enum\.', 'enum:unknown-value'),

    # --- execution/execute.js, execution/values.js getArgumentValues: field errors
    (r'^Cannot return null for non-nullable field [^.]+\..+\.$', 'execution:non-null'),
    (r'^Expected Iterable, but did not find one for field ".*"\.$', 'execution:not-iterable'),
    (r'^Abstract type ".*" must resolve to an Object type at runtime for field "[^"]*"\. Either the ',
     'execution:abstract-unresolved'),
    (r'^Abstract type ".*" must resolve to an Object type at runtime for field ".*" with value .*, received ".*"\.$',
     'execution:abstract-bad-type-name'),
    (r'^Abstract type ".*" was resolved to a type ".*" that does not exist inside the schema\.$',
     'execution:abstract-unknown-type'),
    (r'^Abstract type ".*" was resolved to a non-object type ".*"\.$', 'execution:abstract-non-object-type'),
    (r'^Runtime Object type ".*" is not a possible type for ".*"\.$', 'execution:abstract-not-possible-type'),
    (r'^Expected value of type ".*" but got: .*\.$', 'execution:is-type-of'),
    (r'^Argument ".*" of required type ".*" was not provided\.$', 'execution:argument-not-provided'),
    (r'^Argument ".*" of required type ".*" was provided the variable "\$' + NAME + r'" which was not provided a runtime value\.$',
     'execution:argument-variable-not-provided'),
    (r'^Argument ".*" of non-null type ".*" must not be null\.$', 'execution:argument-null'),
    (r'^Argument ".*" has invalid value .*\.$', 'execution:argument-invalid'),
]
COMPILED = [(re.compile(rx, re.DOTALL), cls) for rx, cls in CLASSES]


def classify(message):
    """The class of an error message, or None when no regex of the table matches it."""
    for rx, cls in COMPILED:
        if rx.match(message):
            return cls
    return None


class Pairs(list):
    """A JSON object as the list of its (key, value) pairs: equality sees key order."""


def load_json(text):
    return json.loads(text, object_pairs_hook=Pairs)


def canon(v):
    """A comparable form of a parsed JSON value: objects keep key order, numbers compare by value,
    booleans are not numbers."""
    if isinstance(v, Pairs):
        return ('o', tuple((k, canon(x)) for k, x in v))
    if isinstance(v, list):
        return ('a', tuple(canon(x) for x in v))
    if isinstance(v, bool):
        return ('b', v)
    if isinstance(v, (int, float)):
        return ('n', v)
    if isinstance(v, str):
        return ('s', v)
    if v is None:
        return ('z',)
    raise TypeError('not JSON: %r' % (v,))


def to_plain(v):
    if isinstance(v, Pairs):
        return {k: to_plain(x) for k, x in v}
    if isinstance(v, list):
        return [to_plain(x) for x in v]
    return v


def dump(v):
    """Compact JSON text of a parsed value, in its own key order."""
    if isinstance(v, Pairs):
        return '{' + ','.join(json.dumps(k, ensure_ascii=False) + ':' + dump(x) for k, x in v) + '}'
    if isinstance(v, list):
        return '[' + ','.join(dump(x) for x in v) + ']'
    return json.dumps(v, ensure_ascii=False)


def first_difference(a, b, path='data'):
    """Where two parsed JSON values first differ, and how, as a short text."""
    ca, cb = canon(a), canon(b)
    if ca == cb:
        return None
    if isinstance(a, Pairs) and isinstance(b, Pairs):
        ka, kb = [k for k, _ in a], [k for k, _ in b]
        if ka != kb:
            return '%s: keys %s vs %s' % (path, ka, kb)
        for (k, x), (_, y) in zip(a, b):
            d = first_difference(x, y, '%s.%s' % (path, k))
            if d:
                return d
    if isinstance(a, list) and not isinstance(a, Pairs) and isinstance(b, list) and not isinstance(b, Pairs):
        if len(a) != len(b):
            return '%s: %d items vs %d' % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, '%s[%d]' % (path, i))
            if d:
                return d
    return '%s: %s vs %s' % (path, shorten(dump(a)), shorten(dump(b)))


def shorten(text, limit=160):
    return text if len(text) <= limit else text[:limit] + '...'


def error_key(err):
    """(class, path, locations) of an error object of a result."""
    message = err.get('message')
    message = message if isinstance(message, str) else ''
    cls = classify(message) or ('unclassified: ' + message)
    path = err.get('path')
    path = tuple(x if isinstance(x, (str, int)) and not isinstance(x, bool) else repr(x) for x in path) \
        if isinstance(path, list) else ()
    locations = err.get('locations')
    locations = tuple((loc.get('line'), loc.get('column')) if isinstance(loc, dict) else (None, None)
                      for loc in locations) if isinstance(locations, list) else ()
    return cls, path, locations


def die(message):
    sys.stderr.write('differential.py: %s\n' % message)
    sys.exit(2)


def run_json(cmd, files, what):
    argv = shlex.split(cmd) + files
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        die('%s (%s) could not run: %s' % (what, ' '.join(argv[:2]), e))
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode('utf-8', 'replace'))
        die('%s exited with status %d' % (what, proc.returncode))
    try:
        out = load_json(proc.stdout.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as e:
        die('%s printed no JSON array: %s' % (what, e))
    if not isinstance(out, list) or any(not isinstance(x, Pairs) for x in out):
        die('%s printed no JSON array of {"name", "result"}' % what)
    results = collections.OrderedDict()
    for entry in out:
        d = dict(entry)
        if not isinstance(d.get('name'), str) or not isinstance(d.get('result'), Pairs):
            die('%s printed an entry without a string "name" and an object "result": %s'
                     % (what, shorten(dump(entry))))
        results[d['name']] = d['result']
    return results


def compare_case(o, r):
    """(problems, exact message matches) for one case's two results."""
    o, r = dict(o), dict(r)
    problems = []
    if ('schema_errors' in o) or ('schema_errors' in r):
        if ('schema_errors' in o) != ('schema_errors' in r):
            who = 'graphql-js' if 'schema_errors' in o else 'the runner'
            problems.append('schema: only %s rejects it (%s)' % (
                who, shorten(dump(o.get('schema_errors') or r.get('schema_errors')))))
        return problems, 0
    if ('data' in o) != ('data' in r):
        problems.append('data: %s in graphql-js, %s in the runner' % (
            'present' if 'data' in o else 'absent', 'present' if 'data' in r else 'absent'))
    elif 'data' in o:
        d = first_difference(o['data'], r['data'])
        if d:
            problems.append(d)
    oerrs, rerrs = to_plain(o.get('errors') or []), to_plain(r.get('errors') or [])
    if not isinstance(rerrs, list) or any(not isinstance(e, dict) for e in rerrs):
        problems.append('errors: not a list of objects in the runner')
        rerrs = [e for e in rerrs if isinstance(e, dict)] if isinstance(rerrs, list) else []
    if len(oerrs) != len(rerrs):
        problems.append('errors: %d in graphql-js, %d in the runner' % (len(oerrs), len(rerrs)))
    by_key_o, by_key_r = collections.defaultdict(list), collections.defaultdict(list)
    for e in oerrs:
        by_key_o[error_key(e)].append(e.get('message'))
    for e in rerrs:
        by_key_r[error_key(e)].append(e.get('message'))
    exact = 0
    for key in set(by_key_o) | set(by_key_r):
        om, rm = by_key_o.get(key, []), by_key_r.get(key, [])
        exact += sum((collections.Counter(om) & collections.Counter(rm)).values())
        if len(om) > len(rm):
            for m in om[len(rm):]:
                problems.append('error only in graphql-js: %s path=%s loc=%s: %s' % (
                    key[0], list(key[1]), list(key[2]), shorten(m or '')))
        elif len(rm) > len(om):
            for m in rm[len(om):]:
                problems.append('error only in the runner: %s path=%s loc=%s: %s' % (
                    key[0], list(key[1]), list(key[2]), shorten(m or '')))
    return problems, exact


def case_files(args_files):
    if args_files:
        return args_files
    files = sorted(glob.glob(os.path.join(HERE, 'cases', '*.json')))
    if not files:
        die('no case files in %s' % os.path.join(HERE, 'cases'))
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--runner', help='the engine under test: a command (path and arguments) run as RUNNER file...')
    ap.add_argument('--oracle-cmd', default=DEFAULT_ORACLE_CMD,
                    help="the reference command, run as ORACLE file... (default: node tests/graphql/oracle.js)")
    ap.add_argument('--self-test', action='store_true',
                    help='compare the oracle with itself and check that the class table covers all its messages')
    ap.add_argument('-k', '--filter', metavar='REGEX', help='only compare the cases whose name matches REGEX')
    ap.add_argument('--max-report', type=int, default=100, help='disagreeing cases shown (default 100, 0: all)')
    ap.add_argument('files', nargs='*', help='case files (default: all of tests/graphql/cases/*.json)')
    args = ap.parse_args()
    if not args.self_test and not args.runner:
        ap.error('--runner PATH is needed (or --self-test)')
    files = case_files(args.files)
    runner_cmd = args.oracle_cmd if args.self_test else args.runner

    oracle = run_json(args.oracle_cmd, files, 'the oracle')
    runner = run_json(runner_cmd, files, 'the oracle (second run)' if args.self_test else 'the runner')

    names = list(oracle)
    if args.filter:
        rx = re.compile(args.filter)
        names = [n for n in names if rx.search(n)]
    disagreeing = []
    oracle_errors = exact = 0
    unclassified = collections.Counter()
    class_cases = collections.Counter()
    for name in names:
        o = oracle[name]
        oracle_errors += len(dict(o).get('errors') or [])
        for e in to_plain(dict(o).get('errors') or []):
            cls = classify(e.get('message', ''))
            if cls is None:
                unclassified['graphql-js: ' + e.get('message', '')] += 1
            else:
                class_cases[cls] += 1
        if name not in runner:
            disagreeing.append((name, ['missing from the runner\'s output']))
            continue
        r = runner[name]
        rerrs = to_plain(dict(r).get('errors') or [])
        for e in rerrs if isinstance(rerrs, list) else []:
            m = e.get('message') if isinstance(e, dict) else None
            if not isinstance(m, str) or classify(m) is None:
                unclassified['runner: ' + str(m)] += 1
        problems, n_exact = compare_case(o, r)
        exact += n_exact
        if problems:
            disagreeing.append((name, problems))
    extra = [n for n in runner if n not in oracle]

    print('GraphQL differential test: %s' % (
        'self-test, graphql-js 16.9.0 against itself' if args.self_test
        else '%s against graphql-js 16.9.0' % args.runner))
    print('case files: %d, cases: %d, agreeing: %d, disagreeing: %d' % (
        len(files), len(names), len(names) - len(disagreeing), len(disagreeing)))
    print('errors in graphql-js results: %d, exact message matches: %d' % (oracle_errors, exact))
    if extra:
        print('cases only in the runner\'s output: %d (%s)' % (len(extra), ', '.join(extra[:10])))
    shown = disagreeing if args.max_report == 0 else disagreeing[:args.max_report]
    for name, problems in shown:
        print('\nDISAGREE %s' % name)
        for p in problems[:8]:
            print('  ' + p)
        if len(problems) > 8:
            print('  ... %d more' % (len(problems) - 8))
    if len(shown) < len(disagreeing):
        print('\n... %d more disagreeing cases (--max-report 0 shows all)' % (len(disagreeing) - len(shown)))
    if unclassified:
        print('\nmessages matching no regex of the class table (each is a class of its own):')
        for m, n in sorted(unclassified.items()):
            print('  %dx %s' % (n, shorten(m, 300)))
    failed = bool(disagreeing) or bool(extra)
    if args.self_test:
        print('\nclass table: %d regexes, %d classes; classes seen in the corpus: %d' % (
            len(CLASSES), len({c for _, c in CLASSES}), len(class_cases)))
        unseen = sorted({c for _, c in CLASSES} - set(class_cases))
        if unseen:
            print('classes no case produces: %s' % ', '.join(unseen))
        if any(k.startswith('graphql-js: ') for k in unclassified):
            failed = True
    print('\n%s' % ('FAILED' if failed else 'OK'))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
