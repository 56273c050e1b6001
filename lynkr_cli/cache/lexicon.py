"""The vocabulary the semantic cache's guard rails read questions with (curated, English, programming).

Why a word list and not only the embedding: a static embedding puts a word next to its antonyms and
siblings ("install"/"uninstall", "merge"/"rebase", "keys"/"values", "Python"/"Rust" are among each
other's nearest neighbours), so word similarity cannot say whether a substitution keeps the question.
The guard therefore only accepts a changed word when this vocabulary says the two words mean the same
in a programming question (``SYNONYMS``), and only accepts a word present on one side when it carries
no subject matter (``FILLER``, ``LIGHT``). Everything else — a different verb, object, tool, language,
adjective — is a different question. ``CONTRASTS`` names the pairs that mean opposite or sibling
actions, so the reason given for a veto is precise, and so no synonym class can ever join them.

The lists are general vocabulary of coding questions, written from how such questions are asked; they
are not fitted to the labelled set (tests/cache/data), whose test half is never read while tuning.
"""

from __future__ import annotations

# Function words and ways of asking: dropped before comparing. Deliberately absent: directions
# (to, from, into, onto, off, out, up, down …), "or", "only", "all", "every", "some", "no", the
# wh-words other than how/what, quantities ("first", "last", "one", "two" …).
FILLER = frozenset("""
a an the this that these those it its i me my mine we us our you your u he she they them their there here
is am are was were be been being do does did doing done have has had having will would shall
of in on at by for as and but if so then also again too with within via
what whats how hows please pls plz kindly really very just simply quick quickly actually basically exactly
can could may might should must
help know let lets thing things something someone anyone somebody anybody hi hello hey thanks thank ok okay
way ways best good proper right correct standard simplest easiest possible preferred recommended whether
want wanted need needed trying try tried able achieve accomplish go going which
explain explanation explained describe tell mean meaning means definition define understand understanding
question problem issue anyone please between purpose happen happens work works working
""".split())

# Words one side may add without changing what is asked (a command or method is the expected answer
# of any "how do I" question; "currently", "now", "new" rarely change it). Kept small on purpose.
LIGHT = frozenset("""
now all specific particular certain given
show convert write check create find implement use using used get
""".split())
# Nouns that name the kind of answer asked for ("what's the command to …", "python code to …"): they
# may be left out on one side even when the other side leaves out a light word of its own (LIGHT
# words swapped — "create" / "find" — are a different question; a noun for the answer is not).
ANSWER_NOUNS = frozenset("""
command commands cmd method methods approach syntax code snippet example content contents
""".split())

# Synonym classes: every word of a class stands for the first word. A class joins words that answer
# the same question in a coding context; a word with a second technical meaning (git "fetch", SQL
# "join", docker "stop"/"kill", pandas "merge"/"join") is left out of any class it would blur.
_CLASSES = [
    "dictionary dict dicts dictionaries hashmap",
    "delete remove erase del rm",
    "merge combine",
    "concatenate concat join",
    "directory folder dir directories folders",
    "show display print view see list output",
    "find search locate look lookup detect identify",
    "fix resolve solve repair",
    "row record rows records",
    "all every each",
    "multiple several many",
    "across over through",
    "single one",
    "check verify determine",
    "kill terminate",
    "create make generate",
    "run execute launch invoke call",
    "iterate loop traverse",
    "last previous prior",
    "exit return",
    "shell bash terminal console",
    "property attribute prop",
    "arithmetic calculation computation math",
    "change modify edit alter amend",
    "convert turn",
    "error exception errors exceptions",
    "catch handle",
    "string str strings text",
    "integer int ints integers",
    "number numeric",
    "length size count len",
    "element item elements items",
    "program application app",
    "permanent permanently persist persistent",
    "contain contains include includes inside has have",
    "lowercase lower",
    "uppercase upper capitalize capital",
    "clone copy duplicate cp",
    "start begin",
    "get obtain retrieve read load fetch take getting got",
    "write save store dump",
    "free release",
    "undo cancel uncommit",
    "current present",
    "big large huge",
    "small little tiny",
    "fast speedy",
    "slow sluggish",
    "wrong incorrect inaccurate",
    "differ difference different differs vs versus compare comparison",
    "environment env",
    "variable var vars variables",
    "argument arguments args arg parameter parameters param params",
    "repository repo repositories repos",
    "configuration config configure setting settings",
    "package packages library libraries module modules dependency dependencies lib libs",
    "javascript js",
    "typescript ts",
    "python py python3",
    "golang go",
    "kubernetes k8s kube kubectl",
    "postgresql postgres psql",
    "node nodejs",
    "website site webpage page",
    "url link",
    "whitespace space spaces",
    "nested deep",
    "two both pair",
    "sort order",
    "replace substitute",
    "move mv",
    "latest newest recent",
    "empty blank",
    "object obj",
    "character char chars characters letter letters",
    "database db databases",
    "image img picture photo",
    "macos mac osx",
    "windows win",
    "version ver",
    "documentation docs doc",
    "permission perm perms",
    "email mail",
    "request req",
    "response resp",
    "automatic automatically auto",
    "temporary temporarily temp",
    "next following",
    "whole entire complete",
    "unique distinct",
    "install installation",
    "double twice",
    "give provide",
    "go exit quit leave",
]
SYNONYMS: dict[str, str] = {}
for _line in _CLASSES:
    _words = _line.split()
    for _word in _words:
        SYNONYMS.setdefault(_word, _words[0])

# Actions and qualities that turn a question into another one. Pairs of one group never align; the
# guard also treats a word and the same word with a reversing prefix (un-, de-, dis-) as a contrast.
CONTRAST_GROUPS = [
    "install uninstall", "merge rebase cherry-pick squash", "merge compare", "enable disable", "add remove",
    "add drop", "push pull fetch", "start stop restart", "mount unmount", "encrypt decrypt", "encode decode",
    "compress extract decompress", "zip unzip", "serialize deserialize parse", "lock unlock", "show hide",
    "create delete drop", "grant revoke", "import export", "backup restore", "upgrade downgrade update",
    "scale up down", "increase decrease", "bigger smaller", "ascending descending", "min max minimum maximum",
    "first last", "head tail", "before after", "keys values", "local remote", "staged unstaged",
    "tracked untracked", "read write", "upload download", "open close", "activate deactivate",
    "comment uncomment", "pickle unpickle", "publish unpublish", "cordon drain uncordon",
    "build run", "stash apply pop", "split squash", "time space", "horizontally vertically",
    "horizontal vertical", "largest smallest oldest newest", "sort reverse shuffle", "resize compress",
    "validate serialize", "include exclude", "allow deny", "map filter reduce foreach",
    "inner left right outer full cross", "props state context", "size color colour", "date time timezone",
    "words lines characters bytes", "memory disk", "owner permissions group", "abstract final",
    "skip run", "dump dumps load loads", "celsius fahrenheit", "utc local", "tabs spaces",
    "mutex semaphore", "thread process coroutine", "list tuple set array", "csv excel json yaml xml",
    "soft hard mixed",
]
REVERSING_PREFIXES = ("un", "de", "dis")

NEGATIONS = frozenset({
    "not", "no", "never", "none", "nothing", "nobody", "nor", "neither", "without", "cannot", "cant", "dont",
    "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt", "couldnt", "hasnt",
    "havent", "hadnt", "mustnt", "except", "unless", "excluding", "non",
})

# Words that give the word after them a role (target, source, comparison): two questions that both
# use one of these must name the same thing after it ("a string to an int" / "an int to a string").
PREPOSITIONS = {"to": "to", "into": "to", "onto": "to", "from": "from", "than": "than", "against": "against"}
# Particles that turn a verb into its opposite: "scale up" / "scale down", "turn logging off".
PARTICLES = frozenset({"up", "down", "off", "out"})
# Phrases said in several ways, read as one word before anything else.
PHRASES = [("get rid of", "remove"), ("lower case", "lowercase"), ("upper case", "uppercase"), ("find out", "find"), ("figure out", "find"), ("or not", ""),
           ("regular expressions", "regex"), ("regular expression", "regex"), ("regexp", "regex"),
           ("standard output", "stdout"), ("standard error", "stderr"), ("standard input", "stdin"),
           ("two times", "twice"), ("command line", "shell"), ("command-line", "shell"),
           ("more than one", "multiple"), ("a lot of", "many"), ("how come", "why"), ("as well", ""),
           ("is it possible to", "how to"), ("is there a way to", "how to"), ("is there any way to", "how to"),
           ("is there an easy way to", "how to"), ("kind of", ""),
           ("list of lists", "nested list"), ("array of arrays", "nested array"),
           ("dict of dicts", "nested dict"), ("dictionary of dictionaries", "nested dict"),
           ("duplicate items", "duplicates"), ("duplicate elements", "duplicates"), ("duplicate values", "duplicates"),
           ("duplicate entries", "duplicates"), ("number of elements", "length"), ("number of items", "length"),
           ("exit code", "exitcode"), ("exit status", "exitcode"), ("return code", "exitcode"),
           ("return status", "exitcode"), ("std::", ""),
           ("test if", "check if"), ("test whether", "check whether")]  # "test" the verb, not "a test"

# A tool named on one side only is no new subject when the other side names something only that tool
# has ("git current branch name" / "show the current branch name").
IMPLIED_BY = {
    "git": "branch commit commits stash rebase cherry-pick gitignore HEAD staged unstaged untracked",
    "kubernetes": "pod pods kubectl",
    "docker": "dockerfile",
    "html": "div anchor",
    "css": "div flexbox stylesheet",
    "shell": "chmod grep sed awk",
    "script": "shell python node javascript ruby perl powershell typescript",
    "program": "python java golang rust c cpp csharp javascript node ruby",
    "linux": "systemd systemctl apt ubuntu debian",
    "python": "pip venv virtualenv pytest django flask numpy pandas asyncio",
    "javascript": "npm node react dom",
    "react": "jsx useeffect usestate usememo usecallback",
}

# Command-line tools: a word right after one (or after its subcommand) is a subcommand ("git show",
# "git stash show", "docker image ls"), never a light word.
TOOLS = frozenset("git docker kubectl npm pip yarn cargo brew apt systemctl conda helm terraform poetry gh".split())

# Asking for an explanation is not asking to be shown something ("Explain the parse function" /
# "Show the parse function"); both kinds are otherwise dropped as ways of asking.
EXPLAIN = frozenset("explain explanation explained describe mean meaning means definition define purpose".split())

# A yes/no question's first word decides what is asked: "Should I …?" is not "Can I …?".
LEADS = {**dict.fromkeys(("can", "could", "may", "might"), "can"),
         **dict.fromkeys(("should", "must", "shall", "ought"), "should"),
         **dict.fromkeys(("is", "are", "was", "were", "am"), "is"),
         **dict.fromkeys(("do", "does", "did"), "do"),
         **dict.fromkeys(("will", "would"), "will")}

IRREGULAR = {"children": "child", "indices": "index", "indexes": "index", "matrices": "matrix",
             "vertices": "vertex", "data": "datum", "went": "go", "gone": "go", "ran": "run", "made": "make",
             "wrote": "write", "written": "write", "did": "do", "took": "take", "taken": "take"}

