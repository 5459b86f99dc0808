"""Write and execute the example notebooks, committing their outputs (nbval then checks every later run).

    python notebooks/build_notebooks.py

Each notebook runs on the demo workspace with a temporary cache, a fixed period and progress bars off, so its
outputs are the same on every machine. Plot cells assign their Axes (``ax = plot_...``) rather than ending with
``;``: nbval runs cells without history, where IPython's semicolon rule does not apply.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

SETUP = """\
# A temporary cache and demo location, so the notebook leaves nothing behind and runs the same everywhere.
import os, tempfile
os.environ.setdefault("CHATLENS_CACHE_DIR", tempfile.mkdtemp())
os.environ.setdefault("CHATLENS_DEMO_DB", os.path.join(tempfile.mkdtemp(), "demo.sqlite"))
os.environ["TQDM_DISABLE"] = "1"
%matplotlib inline
import pandas as pd
pd.set_option("display.width", 120)
import chatlens"""

NOTEBOOKS = {
    "01_quick_start.ipynb": [
        ("markdown", "# chatlens quick start\n\nConnect to the bundled demo workspace, load its messages into a "
                     "tidy DataFrame, and draw the first charts."),
        ("code", SETUP),
        ("code", 'api = chatlens.connect()  # the demo workspace, Slack account "acme-slack"\napi'),
        ("code", 'conversations = chatlens.load_conversations(api, progress=False)\n'
                 'conversations[["label", "kind", "private", "member_count"]]'),
        ("markdown", "One row per message, with documented columns and real dtypes:"),
        ("code", 'messages = chatlens.load_messages(api, progress=False)\nmessages.dtypes'),
        ("code", 'len(messages), messages["created"].min(), messages["created"].max()'),
        ("code", 'messages[["conversation_name", "sender_name", "created", "is_reply", "thread_id"]].head()'),
        ("markdown", "Messages per week by conversation, and the weekly rhythm in Berlin time:"),
        ("code", 'ax = chatlens.plotting.plot_timeline(messages, freq="W", by="conversation", top=5)'),
        ("code", 'ax = chatlens.plotting.plot_rhythm(messages, tz="Europe/Berlin")'),
        ("markdown", "Who drives the conversation:"),
        ("code", 'chatlens.analysis.member_summary(messages, since="2026-07-01", until="2026-08-01")'
                 '[["name", "messages", "replies_given", "replies_received", "active_days"]].head(8)'),
        ("markdown", "Bad input gets a clear error:"),
        ("code", 'chatlens.load_messages(api, ["no-such-channel"], progress=False)', ["raises-exception"]),
    ],
    "02_threads_and_reply_times.ipynb": [
        ("markdown", "# Threads and reply times\n\nThread structure, how fast people answer, and which "
                     "questions are still waiting."),
        ("code", SETUP),
        ("markdown", "One row per thread (a root message and every reply below it): `size` counts its messages, "
                     "`replies` those below the root, `depth` the longest chain of replies to replies, "
                     "`participants` the people who posted in it, and `unanswered` is true when nobody other "
                     "than the root's author replied. `mean` of `unanswered` is the share of threads unanswered."),
        ("code", 'messages = chatlens.load_messages("demo", progress=False)\n'
                 'threads = chatlens.analysis.thread_table(messages)\n'
                 'threads[["size", "replies", "depth", "participants", "unanswered"]].describe().round(2)'),
        ("markdown", "How many messages sit at each depth: 0 are roots, 1 direct replies, 2 replies to replies."),
        ("code", 'chatlens.analysis.thread_depth(messages, warn=False)["depth"].value_counts().sort_index()'),
        ("markdown", "Time to first reply, in hours, over the threads someone else answered: half were answered "
                     "within the 0.5 quantile (the median), nine in ten within the 0.9 quantile."),
        ("code", 'answered = threads[~threads["unanswered"]]\n'
                 'answered["time_to_first_reply"].dt.total_seconds().div(3600).quantile([0.5, 0.9]).round(2)'),
        ("markdown", "The same times as the report draws them, the median marked (the report's key figure):"),
        ("code", 'ax = chatlens.plotting.plot_time_to_first_reply(messages)'),
        ("markdown", "Per conversation: `threads` started, `reply_rate` the share of them someone else answered, "
                     "`unanswered` how many nobody did."),
        ("code", 'chatlens.analysis.conversation_summary(messages)'
                 '[["name", "threads", "reply_rate", "unanswered"]].round(3)'),
    ],
    "03_interaction_network.ipynb": [
        ("markdown", "# The interaction network\n\nWho replies to and mentions whom, who connects the team, and "
                     "which groups form. Export to Gephi with `write_graph`."),
        ("code", SETUP),
        ("code", 'messages = chatlens.load_messages("demo", progress=False)\n'
                 'graph = chatlens.analysis.interaction_graph(messages, since="2026-06-01", until="2026-08-01")\n'
                 'graph.number_of_nodes(), graph.number_of_edges()'),
        ("markdown", "Members (nodes) and who replied to or mentioned whom (edges, weighted by how often) in June "
                     "and July. `centrality`: `in_weight` and `out_weight` count the replies and mentions a "
                     "member received and gave; `degree_centrality` the others they are linked with, as a share "
                     "of everyone (links in and out counted apart, so up to 2); `betweenness` how often they sit "
                     "on the shortest path between two others (people who connect groups score high); `pagerank` "
                     "how much attention flows to them."),
        ("code", 'chatlens.analysis.centrality(graph).head(8).round(3)'),
        ("markdown", "`communities`: groups of members who interact more with each other than with the rest "
                     "(the number of members in each)."),
        ("code", 'chatlens.analysis.communities(graph, seed=0).value_counts().sort_index()'),
        ("markdown", "The network as the report draws it: the members with the most interaction partners, the "
                     "strongest links (width: how often; line style: reply or mention), labels moved apart."),
        ("code", 'ax = chatlens.plotting.plot_interaction_graph(graph, top=30, seed=0)'),
        ("code", 'import tempfile, os\npath = os.path.join(tempfile.mkdtemp(), "team.gexf")\n'
                 'chatlens.analysis.write_graph(graph, path)\nos.path.getsize(path) > 0'),
    ],
    "04_chat_api.ipynb": [
        ("markdown", "# The Chat API through `chatlens serve`\n\nServe a copy of the demo workspace over the "
                     "Kloudless wire protocol on this machine, then create a conversation, post, reply, edit and "
                     "delete through the HTTP client. (The token stays in a variable: never print it.)"),
        ("code", SETUP),
        ("markdown", "A copy of the demo workspace file, served; `chatlens.connect` opens the copy (a path where "
                     "an account name goes) for the server, and the server for us as an `http` account whose "
                     "token is read from an environment variable, as in an accounts file."),
        ("code", 'import shutil\nfrom chatlens.demo import demo_workspace_path\n'
                 'copy = os.path.join(tempfile.mkdtemp(), "workspace.sqlite")\n'
                 'shutil.copyfile(demo_workspace_path(), copy)\n'
                 'served = {}  # one connection per account, opened on first use\n'
                 'def account(account_id):\n'
                 '    if account_id not in served:\n'
                 '        served[account_id] = chatlens.connect(copy, account=account_id)\n'
                 '    return served[account_id]\n'
                 'server = chatlens.serve(account).start()\n'
                 'os.environ["DEMO_SERVER_TOKEN"] = server.issue("acme-teams")\n'
                 'api = chatlens.connect({"type": "http", "base_url": server.url, "account": "acme-teams", '
                 '"token_env": "DEMO_SERVER_TOKEN"})\n'
                 'api.service, api.admin'),
        ("code", 'conv = api.create_conversation(name="launch-review", private=True,\n'
                 '                               members=[{"id": m["id"]} for m in '
                 'api.list_conversations(page_size=1)["objects"][0]["members"][:3]])\n'
                 '{k: conv[k] for k in ("name", "private", "type", "api")}, len(conv["members"])'),
        ("code", 'post = api.create_message(conv["id"], text="Launch review at 3pm? 🚀")\n'
                 'reply = api.create_message(conv["id"], text="Works for me", parent=post["id"])\n'
                 'reply["parent"] == post["id"], reply["sender"]["name"]'),
        ("code", 'edited = api.update_message(post["id"], text="Launch review moved to 4pm 🚀")\n'
                 'edited["text"], edited["modified"] is not None'),
        ("code", 'api.delete_message(reply["id"])\n'
                 '[m["text"] for m in chatlens.iter_items(api.list_messages, conv["id"])]'),
        ("code", 'api.retrieve_message(reply["id"])', ["raises-exception"]),
        ("code", 'events = api.list_events(cursor="0", page_size=1000)["objects"]\n'
                 '[(e["type"], e["object_type"]) for e in events][-5:]'),
        ("code", 'server.stop()'),
    ],
    "05_dashboard.ipynb": [
        ("markdown", "# The dashboard\n\nPick an account, conversations, dates, a time zone and whether bots "
                     "count; the tabs redraw what depends on each choice."),
        ("code", SETUP),
        ("code", 'board = chatlens.dashboard()\nboard', ["nbval-ignore-output"]),
        ("code", 'board.account.value = "demo:acme-slack"\nboard.tz.value = "Europe/Berlin"\n'
                 'board.conversations.options[:4]', ["nbval-ignore-output"]),
        ("code", 'board.state.update(since=pd.Timestamp("2026-07-01", tz="UTC"), '
                 'until=pd.Timestamp("2026-08-01", tz="UTC"))\n'
                 'overview = pd.DataFrame(board.state.overview()).set_index("label")  # the report\'s key figures\n'
                 'overview[["value", "previous", "change", "change_unit", "verdict"]].round(3)'),
    ],
    "06_engagement_report.ipynb": [
        ("markdown", "# A team engagement report\n\nThe figures `chatlens report` puts in its HTML file, for "
                     "July 2026 against June, and the file itself."),
        ("code", SETUP),
        ("code", 'from chatlens.reports import build_report, render_report\n'
                 'messages = chatlens.load_messages("demo", progress=False)\n'
                 'data = build_report(messages, account="acme-slack", since="2026-07-01", until="2026-07-31", '
                 'plots=False)\n'
                 'figures = pd.DataFrame(data.figures).set_index("label")\n'
                 'figures[["key", "value", "previous", "change", "change_unit", "verdict"]].round(3)'),
        ("code", 'data.members[["name", "messages", "replies_given", "replies_received"]]'),
        ("markdown", "The unanswered list: threads nobody else has answered that have waited over the "
                     "threshold (`sla=`, default 24 h) at the period's end, the longest-waiting first."),
        ("code", 'data.unanswered[["conversation", "author", "waiting (days)"]].head()'),
        ("code", 'path = chatlens.report(out=os.path.join(tempfile.mkdtemp(), "team.html"), since="2026-07-01", '
                 'until="2026-07-31", progress=False)\npath.name, path.read_text(encoding="utf-8").count("<img")'),
    ],
    "07_people_and_groups.ipynb": [
        ("markdown", "# People and groups\n\nThe Team API: who the members are (bots, deactivated and guest "
                     "users, time zones), the groups they belong to, and analyses in each member's own time zone."),
        ("code", SETUP),
        ("code", 'users = chatlens.load_users(progress=False)\n'
                 'users[["name", "display_name", "timezone", "is_bot", "deleted", "guest"]].head(8)'),
        ("code", 'users["timezone"].value_counts()'),
        ("code", 'groups = chatlens.load_groups(progress=False)  # Slack user groups; on Teams, the teams\n'
                 'groups.groupby("group_name", observed=True)["user_id"].count()'),
        ("markdown", "Messages gain what the users frame knows of each sender; a sender it does not know keeps "
                     "every row, marked `sender_known = False`:"),
        ("code", 'messages = chatlens.add_sender_details(chatlens.load_messages(progress=False), users)\n'
                 'messages[["sender_name", "sender_timezone", "sender_deleted", "sender_known"]]'
                 '.drop_duplicates("sender_name").head(6)'),
        ("markdown", "The weekly rhythm with every message placed in its sender's own zone: a team spread from "
                     "California to Tokyo shows one working day, not three smeared ones."),
        ("code", 'ax = chatlens.plotting.plot_rhythm(messages, tz="member")'),
        ("markdown", "Messages per month by group (a message counts once in each group its sender is in):"),
        ("code", 'chatlens.analysis.activity_timeline(messages, freq="MS", by="group", groups=groups)'),
    ],
    "08_your_own_slack_export.ipynb": [
        ("markdown", "# Your own Slack export\n\nThe whole path on a Slack workspace export, the zip a Slack admin "
                     "downloads (*Workspace settings → Import/Export Data → Export*): connect, load, the analyses "
                     "that tell you how the community is doing, a report and the dashboard.\n\n"
                     "To practise, the next cell writes the demo workspace as such an export. With yours, set "
                     "`path` to your zip (or its unzipped folder) and skip that cell."),
        ("code", SETUP),
        ("code", '# The demo workspace as a Slack export (yours: path = "my-workspace-export.zip")\n'
                 'path = chatlens.write_slack_export(chatlens.connect("demo"), '
                 'os.path.join(tempfile.mkdtemp(), "acme-export.zip"))\npath.name'),
        ("markdown", "`connect` opens the zip as an account: the service, its id (the export's team id), and "
                     "what the export could not give (`problems`: missing folders, unreadable files; none here)."),
        ("code", 'api = chatlens.connect(str(path))\napi.service, api.account_id, api.problems'),
        ("markdown", "`text=False` loads everything but the message text: enough for every count here, and no "
                     "message text is read into memory or the cache. One row per message:"),
        ("code", 'messages = chatlens.load_messages(api, text=False, progress=False)\n'
                 'len(messages), messages["created"].min(), messages["created"].max()'),
        ("code", 'conversations = chatlens.load_conversations(api, progress=False)\n'
                 'conversations[["label", "kind", "member_count"]]'),
        ("markdown", "## Who keeps coming back\n\n`new_vs_returning`: per month, the members posting, of whom "
                     "`new` posted for the first time in the data loaded and `returning` had posted before. A "
                     "healthy community keeps a steady returning count while new people arrive."),
        ("code", 'chatlens.analysis.new_vs_returning(messages)'),
        ("markdown", "`cohort_retention`: members grouped by the month of their first post (rows); each column "
                     "is the share of that cohort posting k months later (column 0 is always 100%). Read along a "
                     "row: 0.6 in column 2 means 60% of that month's newcomers still posted two months on."),
        ("code", 'chatlens.analysis.cohort_retention(messages).round(2)'),
        ("markdown", "## Is the work spread out\n\n`concentration`: `members_for_half` is the fewest members who "
                     "wrote half the messages; `gini` is 0 when everyone posts equally and near 1 when one person "
                     "writes everything."),
        ("code", 'c = chatlens.analysis.concentration(messages, since="2026-07-01", until="2026-08-01")\n'
                 '{k: round(v, 3) if isinstance(v, float) else v for k, v in c.items()}'),
        ("markdown", "## What is waiting and what went quiet\n\n`unanswered_questions`: roots that read as "
                     "questions (a question mark, or a question word first) that nobody else answered within "
                     "`after`, as of `now` (fixed here, so the answer does not change as time passes)."),
        ("code", 'waiting = chatlens.analysis.unanswered_questions(messages, after="24h", now="2026-08-01")\n'
                 'print(f"{len(waiting):,} questions unanswered after 24 h")\n'
                 'waiting[["conversation_name", "sender_name", "created"]].head()'),
        ("markdown", "`dead_conversations`: conversations with no message in the last `idle` before `now`; "
                     "given the conversations frame, those that never had one are listed too. On the day after "
                     "the export every conversation is alive (an empty table):"),
        ("code", 'chatlens.analysis.dead_conversations(messages, conversations, idle="14D", now="2026-08-01")'),
        ("markdown", "Asked again six weeks later with nothing new, every conversation has been silent longer "
                     "than 30 days (`silent_for`), the longest-silent first:"),
        ("code", 'chatlens.analysis.dead_conversations(messages, conversations, idle="30D", now="2026-09-15")'),
        ("markdown", "## Sharing without naming people\n\n`pseudonymize` replaces every name and id by a keyed "
                     "pseudonym: the same person gets the same pseudonym across frames made with the same secret "
                     "salt, and nobody can reverse it without the salt. Every analysis works on the result."),
        ("code", 'private = chatlens.pseudonymize(messages, "a secret salt of yours")\n'
                 'private[["sender_id", "sender_name", "conversation_name"]].drop_duplicates("sender_id").head(4)'),
        ("code", 'chatlens.analysis.concentration(private, since="2026-07-01", until="2026-08-01")'
                 '["members_for_half"] == c["members_for_half"]'),
        ("markdown", "## The report and the dashboard\n\n`chatlens.report` writes one self-contained HTML file "
                     "(the last 28 complete days unless told otherwise; text-free unless `include_text=True`). "
                     "On the command line: `chatlens report --account my-workspace-export.zip`."),
        ("code", 'report = chatlens.report(api, out=os.path.join(tempfile.mkdtemp(), "team.html"), '
                 'since="2026-07-01", until="2026-07-31", progress=False)\n'
                 'import re\nre.findall("<h2>(.*?)</h2>", report.read_text(encoding="utf-8"))  # its sections'),
        ("markdown", "The dashboard over the export, loaded as the report loads it (`chatlens.dashboard()` "
                     "alone offers every account of your accounts file, and the demo):"),
        ("code", 'from chatlens.reports import load_report_messages\n'
                 'board = chatlens.dashboard(["my export"], load=lambda _: load_report_messages(api, progress=False))\n'
                 'board.account.value = "my export"\nboard', ["nbval-ignore-output"]),
    ],
}


def build(name: str, cells: list) -> None:
    nb = nbformat.v4.new_notebook()
    for number, cell in enumerate(cells):
        kind, source, *tags = cell
        new = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        new.id = f"cell-{number:03d}"  # stable ids: a rebuild changes only what changed
        if tags:
            new.metadata["tags"] = tags[0]
        nb.cells.append(new)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with tempfile.TemporaryDirectory() as tmp:
        env = {"CHATLENS_CACHE_DIR": os.path.join(tmp, "cache"), "CHATLENS_DEMO_DB": os.path.join(tmp, "d.sqlite")}
        os.environ.update(env)
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp}},
                       allow_errors=False).execute()
    for cell in nb.cells:  # volatile metadata out, outputs kept
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":  # the error itself, not this machine's file paths
                output["traceback"] = [f"{output['ename']}: {output['evalue']}"]
    nbformat.write(nb, HERE / name)
    print(f"wrote {name}")


if __name__ == "__main__":
    wanted = sys.argv[1:] or list(NOTEBOOKS)
    for name in wanted:
        build(name, NOTEBOOKS[name])
