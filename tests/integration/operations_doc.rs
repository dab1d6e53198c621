//! `docs/operations.md` runs as written. Every shell command of the runbook
//! is extracted (each ```sh block, and each inline `` `aws ...` `` in the
//! prose) and read in document order, as a platform engineer would paste
//! them into one shell, and the test fails when:
//!
//! - an `aws` command names no `--profile` (with default credentials it
//!   reaches the wrong account, or none);
//! - a variable is used before a step sets it (positional parameters of a
//!   function excepted);
//! - a stack's outputs are read (the `out` helper, or `describe-stacks`)
//!   after a command deleted that stack: they come back empty;
//! - a StackSet operation (`create-stack-instances`, `update-stack-set`,
//!   `update-stack-instances`, `delete-stack-instances`) passes no
//!   `--operation-preferences` (the default is one account at a time, and
//!   the first failure stops the rollout), does not capture its
//!   `OperationId` into a variable, or is never waited for; or a wait polls
//!   an operation of another StackSet than the one it names.
//!
//! It is a reader of the shell the runbook uses, not a shell: quotes,
//! `$(...)`, `${...}`, comments, line continuations, functions and
//! `for` / `read` loops are understood; anything else is taken literally.

use std::collections::{BTreeMap, BTreeSet};

use crate::iam_templates::project_root;

/// One problem, at a line of the document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Problem {
    line: usize,
    message: String,
}

/// A logical line of shell (continuations joined), with the document line
/// it starts on.
struct Line {
    number: usize,
    text: String,
}

/// An open code fence.
struct Fence {
    indent: String,
    /// ```sh, ```bash or ```shell.
    shell: bool,
    /// The lines so far, with their numbers in the document.
    lines: Vec<(usize, String)>,
}

/// The shell of the document, in order: the lines of each ```sh (or bash,
/// shell) block, and each inline code span that is an `aws` command.
fn extract(doc: &str) -> Vec<Vec<Line>> {
    let mut snippets = Vec::new();
    let mut block: Option<Fence> = None;
    for (index, raw) in doc.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim_start();
        let indent = &raw[..raw.len() - trimmed.len()];
        match &mut block {
            Some(fence) => {
                if trimmed.trim_end() == "```" {
                    if fence.shell {
                        snippets.push(logical_lines(&fence.lines));
                    }
                    block = None;
                } else {
                    let line = raw.strip_prefix(fence.indent.as_str()).unwrap_or(trimmed);
                    fence.lines.push((number, line.to_string()));
                }
            }
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    block = Some(Fence {
                        indent: indent.to_string(),
                        shell: matches!(info.trim(), "sh" | "bash" | "shell"),
                        lines: Vec::new(),
                    });
                    continue;
                }
                for span in inline_code(raw) {
                    if span.starts_with("aws ") {
                        snippets.push(vec![Line {
                            number,
                            text: span.to_string(),
                        }]);
                    }
                }
            }
        }
    }
    snippets
}

/// The single-backtick code spans of a line of prose.
fn inline_code(line: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let after = &rest[start + 1..];
        if let Some(double) = after.strip_prefix('`') {
            // A double-backtick span: skip to its end.
            match double.find("``") {
                Some(end) => rest = &double[end + 2..],
                None => break,
            }
            continue;
        }
        match after.find('`') {
            Some(end) => {
                spans.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    spans
}

/// Lines ending in `\` joined to the next.
fn logical_lines(lines: &[(usize, String)]) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut continued = false;
    for (number, text) in lines {
        if continued {
            let last = out.last_mut().expect("a line to continue");
            last.text.push(' ');
            last.text.push_str(text.trim());
        } else {
            out.push(Line {
                number: *number,
                text: text.clone(),
            });
        }
        let last = out.last_mut().expect("a line");
        continued = last.text.ends_with('\\');
        if continued {
            last.text.pop();
        }
    }
    out
}

/// A line with its quoted text hidden: the same characters, but inside
/// quotes (outside a `$(...)` within them) every character is `x`, so that
/// the line's structure (words, separators, substitutions) can be read
/// without being fooled by what a string holds. Comments are blanked.
/// Also returns every variable used, with its position.
fn mask(text: &str) -> (Vec<char>, Vec<(usize, String)>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Context {
        Code,
        Single,
        Double,
    }
    let chars: Vec<char> = text.chars().collect();
    let mut masked = chars.clone();
    let mut uses = Vec::new();
    // Each `$(` opened, with the context it was opened in.
    let mut stack: Vec<Context> = Vec::new();
    let mut context = Context::Code;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match context {
            Context::Single => {
                if c == '\'' {
                    context = Context::Code;
                } else {
                    masked[i] = 'x';
                }
                i += 1;
                continue;
            }
            Context::Double if c == '"' => {
                context = Context::Code;
                i += 1;
                continue;
            }
            Context::Double if c == '\\' => {
                masked[i] = 'x';
                if i + 1 < chars.len() {
                    masked[i + 1] = 'x';
                }
                i += 2;
                continue;
            }
            Context::Code if c == '\'' => {
                context = Context::Single;
                i += 1;
                continue;
            }
            Context::Code if c == '"' => {
                context = Context::Double;
                i += 1;
                continue;
            }
            Context::Code if c == '\\' => {
                i += 2;
                continue;
            }
            Context::Code if c == '#' && (i == 0 || chars[i - 1].is_whitespace()) => {
                for m in masked.iter_mut().skip(i) {
                    *m = ' ';
                }
                break;
            }
            Context::Code if c == ')' && !stack.is_empty() => {
                context = stack.pop().unwrap_or(Context::Code);
                i += 1;
                continue;
            }
            _ => {}
        }
        if c == '$' && chars.get(i + 1) == Some(&'(') {
            stack.push(context);
            context = Context::Code;
            i += 2;
            continue;
        }
        if c == '$' {
            let braced = chars.get(i + 1) == Some(&'{');
            let start = if braced { i + 2 } else { i + 1 };
            let mut end = start;
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            let is_name = name
                .chars()
                .next()
                .is_some_and(|first| first.is_ascii_alphabetic() || first == '_');
            if is_name {
                uses.push((i, name));
            }
            let mut after = end;
            if braced {
                while after < chars.len() && chars[after] != '}' {
                    after += 1;
                }
                after = (after + 1).min(chars.len());
            }
            if context == Context::Double {
                for m in masked.iter_mut().take(after).skip(i) {
                    *m = 'x';
                }
            }
            i = after.max(i + 1);
            continue;
        }
        if context == Context::Double {
            masked[i] = 'x';
        }
        i += 1;
    }
    (masked, uses)
}

/// A token of a masked line, with its place in the line.
#[derive(Debug, Clone)]
struct Token {
    start: usize,
    end: usize,
    /// The masked text: structure only.
    word: String,
}

fn tokens(masked: &[char]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    let push = |out: &mut Vec<Token>, start: usize, end: usize| {
        out.push(Token {
            start,
            end,
            word: masked[start..end].iter().collect(),
        });
    };
    while i < masked.len() {
        let c = masked[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = masked[i..(i + 2).min(masked.len())].iter().collect();
        if matches!(two.as_str(), "$(" | "&&" | "||" | ";;") {
            push(&mut out, i, i + 2);
            i += 2;
            continue;
        }
        if matches!(c, ';' | '|' | '&' | ')') {
            push(&mut out, i, i + 1);
            i += 1;
            continue;
        }
        let start = i;
        while i < masked.len() {
            let c = masked[i];
            if c.is_whitespace() || matches!(c, ';' | '|' | '&' | ')') {
                // `name()` of a function definition stays one word.
                if c == ')' && i > start && masked[i - 1] == '(' {
                    i += 1;
                    continue;
                }
                break;
            }
            if c == '$' && masked.get(i + 1) == Some(&'(') {
                break;
            }
            i += 1;
        }
        push(&mut out, start, i);
    }
    out
}

/// A simple command: its first word and its own arguments (not those of a
/// `$(...)` inside it), as written (quotes removed).
#[derive(Debug)]
struct SimpleCommand {
    word: String,
    args: Vec<String>,
    /// The variable a `NAME=$(...)` around it assigns its output to.
    captured_into: Option<String>,
}

fn is_assignment(word: &str) -> Option<&str> {
    let (name, _) = word.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

fn unquote(text: &str) -> String {
    text.trim_matches(|c| c == '"' || c == '\'')
        .replace("${", "$")
        .replace('}', "")
}

/// What one logical line does: the variables it assigns (with their
/// positions), the functions it starts defining, and its simple commands.
struct Parsed {
    assignments: Vec<(usize, String)>,
    function: Option<String>,
    commands: Vec<SimpleCommand>,
    tokens: Vec<Token>,
}

fn parse(text: &str, masked: &[char]) -> Parsed {
    let chars: Vec<char> = text.chars().collect();
    let original = |token: &Token| -> String { chars[token.start..token.end].iter().collect() };
    let tokens = tokens(masked);
    let mut assignments = Vec::new();
    let mut function = None;
    let mut commands: Vec<SimpleCommand> = Vec::new();
    // The command open at each `$(` depth.
    let mut open: Vec<Option<usize>> = vec![None];
    let mut at_start = true;
    let mut assigns_next = false;
    for (index, token) in tokens.iter().enumerate() {
        let word = token.word.as_str();
        let depth = open.len() - 1;
        match word {
            "$(" => {
                open.push(None);
                at_start = true;
                continue;
            }
            ")" if depth > 0 => {
                open.pop();
                at_start = false;
                continue;
            }
            ";" | ";;" | "&&" | "||" | "|" | "&" | "{" | "}" | "(" | ")" => {
                open[depth] = None;
                at_start = true;
                continue;
            }
            _ => {}
        }
        if assigns_next {
            assignments.push((token.start, word.to_string()));
            assigns_next = false;
            continue;
        }
        if at_start {
            if let Some(name) = is_assignment(word) {
                assignments.push((token.start, name.to_string()));
                continue;
            }
            if let Some(name) = word.strip_suffix("()") {
                function = Some(name.to_string());
                continue;
            }
            match word {
                "export" | "local" | "readonly" | "!" | "do" | "then" | "else" | "while" | "if"
                | "until" => continue,
                "for" => {
                    assigns_next = true;
                    continue;
                }
                _ => {}
            }
            // `NAME=$(` just before this command's `$(`.
            let captured_into = index
                .checked_sub(2)
                .filter(|_| tokens[index - 1].word == "$(")
                .and_then(|before| is_assignment(&tokens[before].word))
                .map(str::to_string);
            open[depth] = Some(commands.len());
            commands.push(SimpleCommand {
                word: original(token),
                args: Vec::new(),
                captured_into,
            });
            at_start = false;
            continue;
        }
        if let Some(command) = open[depth] {
            let command = &mut commands[command];
            command.args.push(unquote(&original(token)));
            if command.word == "read" && !word.starts_with('-') {
                assignments.push((token.start, word.to_string()));
            }
        }
    }
    Parsed {
        assignments,
        function,
        commands,
        tokens,
    }
}

/// The value after `flag` among a command's arguments.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .map(String::as_str)
        .or_else(|| {
            args.iter()
                .find_map(|arg| arg.strip_prefix(&format!("{name}=")))
        })
}

/// What a function of the document does that the checks care about.
#[derive(Default, Clone)]
struct Function {
    /// It reads this stack's outputs.
    reads_outputs_of: Option<String>,
    /// It waits for a StackSet operation: the positions of the StackSet's
    /// name and of the operation id among its arguments (`$1`, `$2`).
    waits: Option<(usize, usize)>,
}

const STACKSET_OPERATIONS: [&str; 4] = [
    "create-stack-instances",
    "update-stack-set",
    "update-stack-instances",
    "delete-stack-instances",
];

/// Variables every shell has.
const PREDEFINED: [&str; 2] = ["HOME", "PWD"];

fn positional(value: &str) -> Option<usize> {
    value.strip_prefix('$')?.parse().ok()
}

/// Everything wrong with the document's shell.
fn lint(doc: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |line: usize, message: String| problems.push(Problem { line, message });
    let mut set: BTreeSet<String> = PREDEFINED.iter().map(|s| s.to_string()).collect();
    let mut functions: BTreeMap<String, Function> = BTreeMap::new();
    let mut deleted: BTreeMap<String, usize> = BTreeMap::new();
    // Operation id variable -> (StackSet, line captured).
    let mut operations: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut waited: BTreeSet<String> = BTreeSet::new();
    for snippet in extract(doc) {
        // The function being defined, and how deep its braces are.
        let mut defining: Option<(String, i32)> = None;
        for line in snippet {
            let (masked, uses) = mask(&line.text);
            let parsed = parse(&line.text, &masked);
            for (position, name) in &uses {
                let assigned_before = parsed
                    .assignments
                    .iter()
                    .any(|(at, assigned)| assigned == name && at < position);
                if !set.contains(name) && !assigned_before {
                    problem(
                        line.number,
                        format!("${name} is used before any step sets it"),
                    );
                }
            }
            set.extend(parsed.assignments.iter().map(|(_, name)| name.clone()));
            if let Some(name) = &parsed.function {
                functions.entry(name.clone()).or_default();
                defining = Some((name.clone(), 0));
            }
            for command in &parsed.commands {
                let args = &command.args;
                let function = defining.as_ref().map(|(name, _)| name.clone());
                if command.word == "aws" {
                    if flag(args, "--profile").is_none() {
                        problem(
                            line.number,
                            format!(
                                "`aws {}` names no --profile",
                                args.iter().take(2).cloned().collect::<Vec<_>>().join(" ")
                            ),
                        );
                    }
                    let operation = args.get(1).map(String::as_str).unwrap_or_default();
                    let stack = flag(args, "--stack-name").map(str::to_string);
                    if operation == "describe-stacks"
                        && flag(args, "--query").is_some_and(|q| q.contains("Outputs"))
                    {
                        if let Some(stack) = &stack {
                            match &function {
                                Some(name) => {
                                    if let Some(f) = functions.get_mut(name) {
                                        f.reads_outputs_of = Some(stack.clone());
                                    }
                                }
                                None => {
                                    check_not_deleted(&deleted, stack, line.number, &mut problem)
                                }
                            }
                        }
                    }
                    if operation == "delete-stack" {
                        if let Some(stack) = stack {
                            deleted.insert(stack, line.number);
                        }
                    }
                    if STACKSET_OPERATIONS.contains(&operation) {
                        let stackset = flag(args, "--stack-set-name").unwrap_or_default();
                        if flag(args, "--operation-preferences").is_none() {
                            problem(
                                line.number,
                                format!(
                                    "`{operation}` on {stackset} passes no --operation-preferences"
                                ),
                            );
                        }
                        match (&command.captured_into, flag(args, "--query")) {
                            (Some(variable), Some("OperationId")) => {
                                // A new operation in the same variable: the
                                // one it held must have been waited for, and
                                // this one must be.
                                if let Some((earlier, at)) = operations.get(variable) {
                                    if !waited.contains(variable) {
                                        problem(
                                            *at,
                                            format!("the {earlier} operation in ${variable} is never waited for"),
                                        );
                                    }
                                }
                                waited.remove(variable);
                                operations
                                    .insert(variable.clone(), (stackset.to_string(), line.number));
                            }
                            _ => problem(
                                line.number,
                                format!(
                                    "`{operation}` on {stackset} does not capture its OperationId (VAR=$(aws ... --query OperationId --output text)) to wait for it"
                                ),
                            ),
                        }
                    }
                    if operation == "describe-stack-set-operation" {
                        let stackset = flag(args, "--stack-set-name").unwrap_or_default();
                        let id = flag(args, "--operation-id").unwrap_or_default();
                        match &function {
                            Some(name) => {
                                if let (Some(s), Some(o)) = (positional(stackset), positional(id)) {
                                    if let Some(f) = functions.get_mut(name) {
                                        f.waits = Some((s, o));
                                    }
                                }
                            }
                            None => check_wait(
                                &operations,
                                &mut waited,
                                stackset,
                                id,
                                line.number,
                                &mut problem,
                            ),
                        }
                    }
                }
                if let Some(f) = functions.get(&command.word).cloned() {
                    if let Some(stack) = &f.reads_outputs_of {
                        check_not_deleted(&deleted, stack, line.number, &mut problem);
                    }
                    if let Some((stackset_at, id_at)) = f.waits {
                        let arg = |n: usize| args.get(n - 1).map(String::as_str).unwrap_or("");
                        check_wait(
                            &operations,
                            &mut waited,
                            arg(stackset_at),
                            arg(id_at),
                            line.number,
                            &mut problem,
                        );
                    }
                }
            }
            if let Some((_, depth)) = &mut defining {
                for token in &parsed.tokens {
                    match token.word.as_str() {
                        "{" => *depth += 1,
                        "}" => *depth -= 1,
                        _ => {}
                    }
                }
                if *depth <= 0 {
                    defining = None;
                }
            }
        }
    }
    for (variable, (stackset, line)) in operations {
        if !waited.contains(&variable) {
            problem(
                line,
                format!("the {stackset} operation in ${variable} is never waited for"),
            );
        }
    }
    problems.sort();
    problems
}

fn check_not_deleted(
    deleted: &BTreeMap<String, usize>,
    stack: &str,
    line: usize,
    problem: &mut impl FnMut(usize, String),
) {
    if let Some(deleted_at) = deleted.get(stack) {
        problem(
            line,
            format!("reads the outputs of stack {stack}, deleted at line {deleted_at}: they come back empty"),
        );
    }
}

fn check_wait(
    operations: &BTreeMap<String, (String, usize)>,
    waited: &mut BTreeSet<String>,
    stackset: &str,
    id: &str,
    line: usize,
    problem: &mut impl FnMut(usize, String),
) {
    let Some(variable) = id.strip_prefix('$') else {
        problem(
            line,
            format!("waits for {id:?}, not for a captured operation id"),
        );
        return;
    };
    match operations.get(variable) {
        Some((captured, _)) if captured == stackset => {
            waited.insert(variable.to_string());
        }
        Some((captured, at)) => problem(
            line,
            format!("waits on {stackset} for ${variable}, the {captured} operation of line {at}"),
        ),
        None => problem(
            line,
            format!("waits for ${variable}, which no StackSet operation captured"),
        ),
    }
}

fn render(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  docs/operations.md:{}: {}", p.line, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn operations_md_runs_as_written() {
    let path = project_root().join("docs/operations.md");
    let doc = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let snippets = extract(&doc);
    assert!(
        snippets.len() >= 30,
        "only {} command snippets found: the extraction is broken",
        snippets.len()
    );
    let problems = lint(&doc);
    assert!(
        problems.is_empty(),
        "docs/operations.md cannot be followed as written:\n{}",
        render(&problems)
    );
}

/// A document of the given shell blocks, one after the other.
fn doc_of(blocks: &[&str]) -> String {
    blocks
        .iter()
        .map(|block| format!("Some prose.\n\n```sh\n{block}\n```\n"))
        .collect()
}

fn messages(doc: &str) -> Vec<String> {
    lint(doc).into_iter().map(|p| p.message).collect()
}

/// The runbook's setup, as later blocks rely on it.
const SETUP: &str = r#"export AWS_REGION=eu-west-1
STACK=cmkscan
out() { aws cloudformation describe-stacks --profile security --stack-name "$STACK" \
  --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text; }
wait_for_stackset_operation() {
  while :; do
    STATUS=$(aws cloudformation describe-stack-set-operation --profile management \
      --stack-set-name "$1" --operation-id "$2" --query StackSetOperation.Status --output text)
    echo "$STATUS"; case $STATUS in RUNNING|QUEUED|STOPPING) sleep 30 ;; *) break ;; esac
  done
}
OPS="RegionConcurrencyType=PARALLEL,MaxConcurrentPercentage=50"
ROOT=$(aws organizations list-roots --profile management --query 'Roots[0].Id' --output text)"#;

#[test]
fn a_well_formed_runbook_passes() {
    let doc = doc_of(&[
        SETUP,
        r#"OPERATION=$(aws cloudformation create-stack-instances --profile management \
  --stack-set-name cmkscan-member-role --deployment-targets OrganizationalUnitIds="$ROOT" \
  --regions "$AWS_REGION" --operation-preferences "$OPS" --query OperationId --output text)
wait_for_stackset_operation cmkscan-member-role "$OPERATION""#,
        r#"BUCKET=$(out ReportBucketName)   # read before the stack goes
aws cloudformation delete-stack --profile security --stack-name "$STACK"
for VERSION in a b; do echo "$VERSION $BUCKET"; done
aws s3api delete-bucket --profile security --bucket "$BUCKET""#,
    ]);
    assert_eq!(lint(&doc), Vec::new());
}

/// Defect 1 of the runbook as it was (541b18d): the runner update of the
/// Security Hub step has no --profile, and `create-stack-instances` does not
/// capture its OperationId, so "wait as above" polls the member role's.
#[test]
fn the_security_hub_step_as_it_was_is_caught() {
    let doc = doc_of(&[
        SETUP,
        r#"OPERATION=$(aws cloudformation create-stack-instances --profile management \
  --stack-set-name cmkscan-member-role --deployment-targets OrganizationalUnitIds="$ROOT" \
  --regions "$AWS_REGION" --operation-preferences "$OPS" --query OperationId --output text)
wait_for_stackset_operation cmkscan-member-role "$OPERATION""#,
        r#"aws cloudformation create-stack-instances --profile management \
  --stack-set-name cmkscan-securityhub-role \
  --deployment-targets OrganizationalUnitIds="$ROOT" --regions "$AWS_REGION" \
  --operation-preferences FailureTolerancePercentage=10,MaxConcurrentPercentage=25"#,
        r#"aws cloudformation deploy --stack-name "$STACK" \
  --template-file deploy/cloudformation/runner.yaml \
  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
  --parameter-overrides SecurityHubImportRoleName=CmkScanSecurityHubImport"#,
    ]);
    assert_eq!(
        messages(&doc),
        [
            "`create-stack-instances` on cmkscan-securityhub-role does not capture its OperationId (VAR=$(aws ... --query OperationId --output text)) to wait for it",
            "`aws cloudformation deploy` names no --profile",
        ]
    );
    // Waiting for the member role's operation under the import role's name.
    let doc = doc_of(&[
        SETUP,
        r#"OPERATION=$(aws cloudformation create-stack-instances --profile management \
  --stack-set-name cmkscan-member-role --operation-preferences "$OPS" \
  --query OperationId --output text)
wait_for_stackset_operation cmkscan-securityhub-role "$OPERATION""#,
    ]);
    let found = messages(&doc);
    assert!(
        found.iter().any(|m| m.starts_with(
            "waits on cmkscan-securityhub-role for $OPERATION, the cmkscan-member-role operation"
        )),
        "{found:?}"
    );
}

/// Defect 5 of the runbook as it was: the teardown reads the bucket's name
/// from the runner stack's outputs after deleting the stack (both commands
/// inline in the prose).
#[test]
fn the_teardown_as_it_was_is_caught() {
    let doc = format!(
        "{}\n3. **The runner stack**: `aws cloudformation delete-stack --profile security --stack-name \"$STACK\"`.\n\
         4. Then `aws s3api delete-bucket --profile security --bucket \"$(out ReportBucketName)\"`.\n",
        doc_of(&[SETUP])
    );
    let found = lint(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .message
            .starts_with("reads the outputs of stack $STACK, deleted at line"),
        "{found:?}"
    );
}

#[test]
fn unset_variables_unwaited_operations_and_missing_preferences_are_caught() {
    let doc = doc_of(&[
        SETUP,
        r#"aws cloudformation deploy --profile security --stack-name "$STACK" \
  --parameter-overrides ImageUri="$REPO:${NEW_TAG}""#,
        r#"OP=$(aws cloudformation update-stack-set --profile management \
  --stack-set-name cmkscan-member-role --query OperationId --output text)"#,
    ]);
    assert_eq!(
        messages(&doc),
        [
            "$NEW_TAG is used before any step sets it",
            "$REPO is used before any step sets it",
            "`update-stack-set` on cmkscan-member-role passes no --operation-preferences",
            "the cmkscan-member-role operation in $OP is never waited for",
        ]
    );
}

#[test]
fn quoted_text_comments_and_json_are_not_commands_or_variables() {
    let doc = doc_of(&[
        SETUP,
        r#"# aws s3 ls "$UNSET" in a comment
echo 'aws sts get-caller-identity $NOT_A_VARIABLE'
aws sns subscribe --profile security --topic-arn "$(out AlertTopicArn)" \
  --attributes '{"FilterPolicy": "{\"n\": [{\"numeric\": [\">\", 0]}]}"}'
aws cloudformation list-stack-instances --profile management --stack-set-name x \
  --query 'Summaries[?StackInstanceStatus.DetailedStatus!=`SUCCEEDED`].[Account]'"#,
    ]);
    assert_eq!(lint(&doc), Vec::new());
}
