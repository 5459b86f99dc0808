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

# The key figures as the report's cards show them (notebooks 05 and 06), from the report's own formatters.
CARDS = """\
from chatlens.reports.figures import format_change, format_value

def cards(figures):  # the key figures as the report's cards show them
    return pd.DataFrame({"key": [f["key"] for f in figures],
                         "value": [format_value(f["value"], f["unit"]) for f in figures],
                         "previous": [format_value(f["previous"], f["unit"]) for f in figures],
                         "change": [format_change(f) for f in figures],
                         "better": [f["better"] for f in figures],
                         "verdict": [f["verdict"] for f in figures]},
                        index=pd.Index([f["label"] for f in figures], name="figure"))

"""

NOTEBOOKS = {
    "01_quick_start.ipynb": [
        ("markdown", "# chatlens quick start\n\nConnect to the bundled demo workspace, load its messages into a "
                     "tidy DataFrame, see what the analyses count and what they leave out, and draw the first "
                     "charts. Every figure has one definition, a function of `chatlens.analysis` (the "
                     "`chatlens.analysis.METRICS` registry, described in docs/metrics.md); the text beside each "
                     "table names it."),
        ("code", SETUP),
        ("code", 'api = chatlens.connect()  # the demo workspace, Slack account "acme-slack"\napi'),
        ("markdown", "The account's conversations (`load_conversations`): `kind` is `channel` (public), "
                     "`private_channel`, `direct` (a DM) or `group_direct` (a group DM); `private` is true for "
                     "every kind but a public channel; `member_count` is how many members the conversation has "
                     "today, not how many posted."),
        ("code", 'conversations = chatlens.load_conversations(api, progress=False)\n'
                 'conversations[["label", "kind", "private", "member_count"]]'),
        ("markdown", "One row per message, with documented columns and real dtypes (`chatlens.schema.COLUMNS` "
                     "says what each column holds):"),
        ("code", 'messages = chatlens.load_messages(api, progress=False)\nmessages.dtypes'),
        ("markdown", "How many messages were loaded, and the first and the last (UTC). `load_messages` loads "
                     "every message of every conversation: private ones, bots' messages and system events "
                     "included. The analyses decide what counts."),
        ("code", 'len(messages), messages["created"].min(), messages["created"].max()'),
        ("markdown", "What the analyses leave out by default (`hygiene_counts`): bots' messages (`is_bot`) and "
                     "system events (`is_system`: joins, topic changes), one row per `subtype`; `left_out` says "
                     "whether the analyses drop them (`include_bots=True` / `include_system=True` count them). "
                     "Messages of deactivated members are counted. `share` is of all the messages loaded. "
                     "Private conversations are not left out by the analyses themselves: the report and the "
                     "dashboard leave them out, loading with `chatlens.reports.load_report_messages`, which "
                     "marks each message's conversation kind."),
        ("code", 'users = chatlens.load_users(api, progress=False)\n'
                 'chatlens.analysis.hygiene_counts(messages, deleted_users=users)'
                 '[["reason", "subtype", "messages", "share", "left_out"]].round(3)'),
        ("markdown", "The first messages: `is_reply` is true for a reply in a thread, and `thread_id` names the "
                     "thread, the same for its root and every reply below it (the second row answers the "
                     "first)."),
        ("code", 'messages[["conversation_name", "sender_name", "created", "is_reply", "thread_id"]].head()'),
        ("markdown", "`plot_timeline`: messages per week (Monday to Sunday, UTC), one line for each of the five "
                     "conversations with the most messages and one for the rest (\"other\"), over the whole "
                     "history, private conversations included, bots and system events left out (the counts "
                     "are `activity_timeline`'s). A dashed stretch ends in a week the data covers only in part "
                     "(here the last: the data ends on Friday 31 July), so its dip is not a drop in activity. "
                     "\"other\" adds up the six smaller conversations, so it runs above the rest."),
        ("code", 'ax = chatlens.plotting.plot_timeline(messages, freq="W", by="conversation", top=5)'),
        ("markdown", "`plot_rhythm`: how many messages were posted in each hour of each weekday "
                     "(`hour_weekday_table`), on Berlin's wall clock, over the whole history, bots and system "
                     "events left out. Brighter is busier: weekday working hours in Berlin carry most of the "
                     "talk; the members in other zones (New York to Tokyo) spread it into the evening and the "
                     "night, and weekends are quiet."),
        ("code", 'ax = chatlens.plotting.plot_rhythm(messages, tz="Europe/Berlin")'),
        ("markdown", "Who drives the conversation in July 2026 (`member_summary`, `since=\"2026-07-01\"`, "
                     "`until=\"2026-08-01\"`: a period always includes `since` and leaves out `until`). One row "
                     "per member posting, the busiest first: `messages` they posted, `replies_given` their "
                     "replies to other people's messages, `replies_received` the replies others posted to "
                     "theirs, `active_days` the days (UTC) on which they posted. Bots and system events are "
                     "left out; private conversations count here, which the report does not count, so its "
                     "members table shows lower numbers."),
        ("code", 'summary = chatlens.analysis.member_summary(messages, since="2026-07-01", until="2026-08-01")\n'
                 'summary[["name", "messages", "replies_given", "replies_received", "active_days"]].head(8)'),
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
                     "than the root's author replied (counted as 1 here, so its `mean` is the share of threads "
                     "unanswered). The whole history and every conversation, private ones too; threads started "
                     "by bots and system events are left out."),
        ("code", 'messages = chatlens.load_messages("demo", progress=False)\n'
                 'threads = chatlens.analysis.thread_table(messages)\n'
                 'columns = ["size", "replies", "depth", "participants", "unanswered"]\n'
                 'threads[columns].astype({"unanswered": "int64"}).describe().round(2)'),
        ("markdown", "How many messages sit at each depth: 0 are roots, 1 direct replies, 2 replies to replies. "
                     "`thread_depth` places every message, bots' and system events too, so it finds more roots "
                     "than the threads counted above (the 149 more are the bots' posts and the system "
                     "events)."),
        ("code", 'chatlens.analysis.thread_depth(messages)["depth"].value_counts().sort_index()'),
        ("markdown", "Time to first reply, in hours, over the threads someone else answered: half were answered "
                     "within the 0.5 quantile (the median), nine in ten within the 0.9 quantile."),
        ("code", 'answered = threads[~threads["unanswered"]]\n'
                 'answered["time_to_first_reply"].dt.total_seconds().div(3600).quantile([0.5, 0.9]).round(2)'),
        ("markdown", "The same times as the report draws them, the median marked (the report's key figure, "
                     "`median_time_to_first_reply`; here over the whole history and every conversation, where "
                     "the report covers its period and public channels):"),
        ("code", 'ax = chatlens.plotting.plot_time_to_first_reply(messages)'),
        ("markdown", "Per conversation (`conversation_summary`, whole history, DMs included): `threads` "
                     "started, `reply_rate` the share of them someone else answered (`reply_rate`), "
                     "`unanswered` how many nobody did."),
        ("code", 'chatlens.analysis.conversation_summary(messages)'
                 '[["name", "threads", "reply_rate", "unanswered"]].round(3)'),
    ],
    "03_interaction_network.ipynb": [
        ("markdown", "# The interaction network\n\nWho replies to and mentions whom, who connects the team, and "
                     "which groups form. Export to Gephi with `write_graph`."),
        ("code", SETUP),
        ("markdown", "`interaction_graph`: members (nodes) and who replied to or mentioned whom (edges, "
                     "directed: A to B and B to A are two, weighted by how often) in June and July, every "
                     "conversation, bots, system events and replies to oneself left out. How many members and "
                     "links:"),
        ("code", 'messages = chatlens.load_messages("demo", progress=False)\n'
                 'graph = chatlens.analysis.interaction_graph(messages, since="2026-06-01", until="2026-08-01")\n'
                 'graph.number_of_nodes(), graph.number_of_edges()'),
        ("markdown", "`centrality`, one row per member, the first eight by `pagerank`: `in_weight` and "
                     "`out_weight` count the replies and mentions a member received and gave; "
                     "`degree_centrality` the others they are linked with, as a share of everyone (links in "
                     "and out counted apart, so up to 2: Ada Lovelace's 1.97 means she replied to or "
                     "mentioned, and was answered or mentioned by, nearly all 31 others); `betweenness` how "
                     "often they sit on the shortest path between two others (people who connect groups score "
                     "high); `pagerank` how much attention flows to them."),
        ("code", 'chatlens.analysis.centrality(graph).head(8).round(3)'),
        ("markdown", "`communities`: groups of members who interact more with each other than with the rest "
                     "(the number of members in each)."),
        ("code", 'chatlens.analysis.communities(graph, seed=0).value_counts().sort_index()'),
        ("markdown", "The network as the report draws it: the 30 members with the most interaction partners, "
                     "of the links among them the strongest (width: how often; line style: reply or mention; "
                     "the note under it says how many are drawn), labels moved apart where they would "
                     "overlap."),
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
        ("markdown", "The served account is the demo's Teams one (`ms_teams`), an admin account (`admin`: "
                     "the service's rules for admins apply, e.g. a Teams admin's listing leaves out members' "
                     "direct chats). A private conversation with three of the first channel's members:"),
        ("code", 'conv = api.create_conversation(name="launch-review", private=True,\n'
                 '                               members=[{"id": m["id"]} for m in '
                 'api.list_conversations(page_size=1)["objects"][0]["members"][:3]])\n'
                 '{k: conv[k] for k in ("name", "private", "type", "api")}, len(conv["members"])'),
        ("markdown", "A post and a reply to it: the reply names its parent, and both are from the account's "
                     "own user."),
        ("code", 'post = api.create_message(conv["id"], text="Launch review at 3pm? 🚀")\n'
                 'reply = api.create_message(conv["id"], text="Works for me", parent=post["id"])\n'
                 'reply["parent"] == post["id"], reply["sender"]["name"]'),
        ("markdown", "An edit changes the text and sets `modified`:"),
        ("code", 'edited = api.update_message(post["id"], text="Launch review moved to 4pm 🚀")\n'
                 'edited["text"], edited["modified"] is not None'),
        ("markdown", "A deleted message leaves the listing, and asking for it is a 404, raised as "
                     "`chatlens.errors.NotFound`:"),
        ("code", 'api.delete_message(reply["id"])\n'
                 '[m["text"] for m in chatlens.iter_items(api.list_messages, conv["id"])]'),
        ("code", 'api.retrieve_message(reply["id"])', ["raises-exception"]),
        ("markdown", "The account's event log, newest last: each change above as an event, what it did "
                     "(`add`, `update`, `delete`) to which kind of object."),
        ("code", 'events = api.list_events(cursor="0", page_size=1000)["objects"]\n'
                 '[(e["type"], e["object_type"]) for e in events][-5:]'),
        ("code", 'server.stop()'),
    ],
    "05_dashboard.ipynb": [
        ("markdown", "# The dashboard\n\nThe report's figures, to explore: pick an account, conversations, "
                     "dates (From and Until, both days included), a time zone, the timeline's period and whether "
                     "bots and private conversations count; each tab redraws what depends on the choice. It "
                     "counts as the report does: bots (the service's and those its users list marks) and system "
                     "events are left out, so are private conversations (private channels, DMs, group DMs) "
                     "unless *Count private conversations* is ticked; without dates it shows the last 28 "
                     "complete days. Message text stays hidden until *Show message text*."),
        ("code", SETUP),
        ("markdown", "`chatlens.dashboard()` offers the demo's two accounts and every account of your accounts "
                     "file, and loads one when it is picked. `load=` gives it a loader of your own (account "
                     "name to messages frame): this one loads as the default does, with the report's "
                     "`load_report_messages`, but without progress bars, so this saved notebook holds none. "
                     "(A saved notebook shows no widgets: run it in JupyterLab, or open it with Voila, to see "
                     "the dashboard; the cells below read what its tabs show.)"),
        ("code", 'from chatlens.reports import load_report_messages\n\n'
                 'def load(name):  # "demo:acme-slack": the workspace "demo", its account "acme-slack"\n'
                 '    workspace, _, account = name.partition(":")\n'
                 '    api = chatlens.connect(workspace, account=account or None)\n'
                 '    return load_report_messages(api, text=True, progress=False)\n\n'
                 'board = chatlens.dashboard(load=load)\nboard', ["nbval-ignore-output"]),
        ("markdown", "Choosing as one would by hand: the Slack account, Berlin time, 1 to 31 July 2026. The "
                     "conversation picker lists the public channels with their messages over the whole history; "
                     "choosing none counts them all."),
        ("code", 'import datetime\n'
                 'board.account.value = "demo:acme-slack"\n'
                 'board.tz.value = "Europe/Berlin"\n'
                 'board.since.value, board.until.value = datetime.date(2026, 7, 1), datetime.date(2026, 7, 31)',
         ["nbval-ignore-output"]),  # each choice redraws the tab on screen, into the widget's output
        ("code", 'board.conversations.options'),
        ("markdown", "The *Overview* tab: the report's key figures for these choices (`board.state.overview()`), "
                     "each computed by the function `key` names, over 1 to 31 July in Berlin time; `previous` is "
                     "the same figure over the 31 days before. Counts and times change in per cent (`%`), shares "
                     "(a reply rate of 45%: 45% of the threads started answered by someone else) in percentage "
                     "points (`pp`); times are in hours. `better` is the direction the metric declares better, "
                     "and `verdict` judges the change by it (`same` when it rounds to nothing). The zone decides "
                     "where days begin (stickiness counts members per local day) and the working day of "
                     "senders whose own zone is unknown (after-hours share)."),
        ("code", CARDS + 'overview = board.state.overview()\ncards(overview)'),
        ("markdown", "The report for the same account, period and zone shows the same figures, unrounded values, "
                     "changes and verdicts alike: both call the same functions on messages loaded the same way "
                     "(`build_report`, as in the engagement report notebook)."),
        ("code", 'from chatlens.reports import build_report\n'
                 'report = build_report(load_report_messages("demo", progress=False), account="acme-slack",\n'
                 '                      since="2026-07", until="2026-08", tz="Europe/Berlin", plots=False)\n'
                 'print("the report\'s figures equal the dashboard\'s:", report.figures == overview)'),
        ("markdown", "The *Threads* tab for the same choices: `conversation_summary`, one row per public "
                     "channel, the busiest first; `threads` started in the period, `reply_rate` the share of "
                     "them someone other than the author answered, `unanswered` how many nobody did, and "
                     "`median_time_to_first_reply` over the answered ones. The tab shows it as below "
                     "(`chatlens.widgets.tables.readable_table`): the report's column names, shares in per "
                     "cent, durations in words; the numbers are the function's."),
        ("code", 'from chatlens.widgets.tables import readable_table\n'
                 'threads = board.state.threads()[["name", "threads", "reply_rate", "unanswered", '
                 '"median_time_to_first_reply"]]\n'
                 'shown, caption = readable_table(threads, tz=board.state.tz, what="conversations")\n'
                 'print(caption)\nshown'),
    ],
    "06_engagement_report.ipynb": [
        ("markdown", "# A team engagement report\n\nWhat `chatlens report` puts in its HTML file, as data: the key "
                     "figures for July 2026 against the 31 days before, the members and conversations tables, the "
                     "unanswered list and what was left out; then the file itself. Each figure is computed by the "
                     "function of `chatlens.analysis` its `key` names (the `chatlens.analysis.METRICS` registry, "
                     "docs/metrics.md): the report computes nothing of its own."),
        ("code", SETUP),
        ("markdown", "`load_report_messages` loads as the report (and the dashboard) does: the messages "
                     "(text-free unless `text=True`), what the users list says of each sender (bots it marks, "
                     "deactivated members, time zones) and each conversation's kind. `since=\"2026-07\"`, "
                     "`until=\"2026-08\"` is July in UTC: a period runs from `since` up to, not including, "
                     "`until`."),
        ("code", 'from chatlens.reports import build_report, load_report_messages\n'
                 'messages = load_report_messages("demo", progress=False)\n'
                 'data = build_report(messages, account="acme-slack", since="2026-07", until="2026-08", '
                 'plots=False)\n'
                 'data.since, data.until'),
        ("markdown", "What the figures leave out: bots' messages (the service's bots and those its users list "
                     "marks), system events (joins, topic changes) and every message of a private conversation "
                     "(private channels, DMs, group DMs: `private` says \"left out\"; `include_private=True` "
                     "counts them). Messages of deactivated members are counted."),
        ("code", 'data.private, data.left_out'),
        ("markdown", "The key figures: `value` for July, `previous` the same figure over the 31 days before "
                     "(31 May to 30 June). Each counts people's messages in public channels:\n\n"
                     "- **messages** (`message_count`): messages posted, roots and replies alike.\n"
                     "- **members posting** (`member_count`): members who posted at least once (message data "
                     "cannot see readers).\n"
                     "- **threads started** (`threads_started`): roots posted, whether or not anyone replied.\n"
                     "- **replies to others** (`replies_to_others`): replies to someone else's message (a reply "
                     "to one's own does not count).\n"
                     "- **reply rate** (`reply_rate`): the share of threads started whose root drew a reply from "
                     "someone other than its author.\n"
                     "- **median** and **90th percentile time to first reply** (`median_time_to_first_reply`, "
                     "`p90_time_to_first_reply`, in hours): of the threads started in the period that someone "
                     "else answered, half, and nine in ten, had their first answer within this time.\n"
                     "- **stickiness (DAU/MAU)** (`stickiness`): members posting on a day over members posting "
                     "in the 28 days up to it, averaged over the days; 70% would mean a typical day sees 70% of "
                     "the month's posters.\n"
                     "- **after-hours share** (`after_hours_share`): the share of messages posted outside 9:00 "
                     "to 18:00, Monday to Friday, on each sender's own clock (their profile's zone).\n"
                     "- **members for half of messages** (`members_for_half`): the fewest members who together "
                     "wrote half the messages; higher means posting is shared more widely.\n\n"
                     "Shown as the report's cards show them: shares in per cent, times in hours and minutes. `change` is "
                     "in per cent of `previous` for counts and times and in percentage points "
                     "(`pp`) for shares; `better` is the direction the metric declares better (`up` or "
                     "`down`), and `verdict` judges the change by it, `same` when it rounds to nothing. So the "
                     "median time to first reply, up 2% on June (37 min against 36 min), is `worse` (a longer "
                     "wait), and its 90th percentile, down 5%, is `better`: the report's colours follow the "
                     "verdict, not the sign."),
        ("code", CARDS + 'cards(data.figures)'),
        ("markdown", "The same figures as data (`data.figures`; `data.to_dict()` and `chatlens report --json` "
                     "write them out): values unrounded, shares between 0 and 1, `change_unit` `%` or `pp`. The "
                     "reply rate:"),
        ("code", 'data.figures[4]'),
        ("markdown", "The members table (`member_summary` on the same frame and period), one row per member "
                     "posting, the busiest first: `messages`; `threads_with_replies`, their roots that drew a "
                     "reply (the card's \"threads started\" counts every root); `replies_given` (\"replies to "
                     "others\") and `replies_received` "
                     "(\"replies from others\"); the median time their replies to others came after the "
                     "message they answered, in hours; `active_days`, the days with a post."),
        ("code", 'hours = data.members["median_reply_time"].dt.total_seconds() / 3600\n'
                 'members = data.members.assign(median_reply_hours=hours)\n'
                 'members[["name", "messages", "threads_with_replies", "replies_given", "replies_received",\n'
                 '         "median_reply_hours", "active_days"]].round(2)'),
        ("markdown", "The conversations table (`conversation_summary`, same period), one row per public channel: "
                     "`messages`, `members_posting`, `threads` started, `reply_rate` (as the card), "
                     "`unanswered` the threads nobody else answered, the median time to first reply in hours, "
                     "and `answered_within` the share of threads someone else answered within the report's "
                     "threshold (`sla=`, default 24 h; `answered_within`). In July every first answer came "
                     "within 20 hours, so it equals the reply rate here."),
        ("code", 'hours = data.conversations["median_time_to_first_reply"].dt.total_seconds() / 3600\n'
                 'conversations = data.conversations.assign(median_first_reply_hours=hours)\n'
                 'conversations[["name", "messages", "members_posting", "threads", "reply_rate",\n'
                 '               "unanswered", "median_first_reply_hours", "answered_within"]].round(3)'),
        ("markdown", "The unanswered list: threads nobody else has answered that have waited over the "
                     "threshold at the period's end, the longest-waiting first; `waiting (days)` runs from the "
                     "thread's start to 1 August. The report lists the first ten."),
        ("code", 'data.unanswered[["started", "conversation", "author", "waiting (days)"]].head()'),
        ("markdown", "The same report as one self-contained HTML file, its plots embedded as images "
                     "(`chatlens report --since 2026-07 --until 2026-08` on the command line); its sections:"),
        ("code", 'import re\n'
                 'path = chatlens.report(out=os.path.join(tempfile.mkdtemp(), "team.html"), since="2026-07", '
                 'until="2026-08", progress=False)\n'
                 'html = path.read_text(encoding="utf-8")\n'
                 'print(f"{path.name}: {html.count(\'<img\')} plots")\n'
                 're.findall("<h2>(.*?)</h2>", html)'),
    ],
    "07_people_and_groups.ipynb": [
        ("markdown", "# People and groups\n\nThe Team API: who the members are (bots, deactivated and guest "
                     "users, time zones), the groups they belong to, and analyses in each member's own time "
                     "zone and across groups."),
        ("code", SETUP),
        ("markdown", "The users list (`load_users`), one row per account of the workspace: `is_bot` is the "
                     "service's own mark, `deleted` a deactivated account (its messages still count), `guest` a "
                     "guest account, `timezone` the zone of the member's profile. The first eight:"),
        ("code", 'users = chatlens.load_users(progress=False)\n'
                 'users[["name", "display_name", "timezone", "is_bot", "deleted", "guest"]].head(8)'),
        ("markdown", "How many accounts there are, and how many are bots, deactivated and guests:"),
        ("code", 'len(users), users[["is_bot", "deleted", "guest"]].sum().to_dict()'),
        ("markdown", "Accounts per profile time zone (the two in UTC are the bots): the team spans California to "
                     "Tokyo, so one zone's clock misreads most members' working day."),
        ("code", 'users["timezone"].value_counts()'),
        ("markdown", "Groups (`load_groups`: Slack's user groups; on Teams, the teams), one row per group and "
                     "member; here the members of each. A member can be in several groups, so these add up to "
                     "more than the members."),
        ("code", 'groups = chatlens.load_groups(progress=False)\n'
                 'groups.groupby("group_name", observed=True)["user_id"].count()'),
        ("markdown", "`add_sender_details`: messages gain what the users frame knows of each sender "
                     "(`sender_timezone`, `sender_deleted`, `sender_guest`, and `is_bot` for the users it marks "
                     "as bots); a sender it does not know keeps every row, marked `sender_known = False`. One "
                     "row per sender, the first six:"),
        ("code", 'messages = chatlens.add_sender_details(chatlens.load_messages(progress=False), users)\n'
                 'messages[["sender_name", "sender_timezone", "sender_deleted", "sender_known"]]'
                 '.drop_duplicates("sender_name").head(6)'),
        ("markdown", "The weekly rhythm (`hour_weekday_table`) with every message placed on its sender's own "
                     "clock (`tz=\"member\"`; a sender without a known zone would be placed in UTC, "
                     "`default_tz`): messages per hour and weekday over the whole history, every conversation, "
                     "bots and system events left out. A team spread from California to Tokyo shows one "
                     "working day, not three smeared ones."),
        ("code", 'ax = chatlens.plotting.plot_rhythm(messages, tz="member")'),
        ("markdown", "Messages per month by group (`activity_timeline(by=\"group\")`, UTC months, bots and system "
                     "events left out): a message counts once in each group its sender is in, so a row adds "
                     "up to more than the month's messages (a person in no group would count in a \"(no "
                     "group)\" column; the only senders in none are the two bots, left out). January starts "
                     "with the first message, on 4 January."),
        ("code", 'monthly = chatlens.analysis.activity_timeline(messages, freq="MS", by="group", groups=groups)\n'
                 'monthly.rename(index=lambda start: start.strftime("%Y-%m"))'),
        ("markdown", "`cross_group_interaction` in July, all conversations: an interaction is a reply or "
                     "mention from one member to another (a reply to oneself does not count), and it crosses "
                     "groups when the two share no group. `interactions` counts them, `cross_group_share` is "
                     "the share that crosses. A thread crosses groups when no one group holds all the members "
                     "posting in it; `cross_group_thread_share` is the share of threads with two or more "
                     "posters that do."),
        ("code", 'cross = chatlens.analysis.cross_group_interaction(messages, groups, member_column="user_id", '
                 'group_column="group_name",\n'
                 '                                                  since="2026-07-01", until="2026-08-01")\n'
                 '{k: round(v, 3) if isinstance(v, float) else v for k, v in cross.summary.items()}'),
        ("markdown", "Who interacts with whom, by group (`pairs`): rows are the group of the member who replied "
                     "or mentioned, columns the group of the one answered or mentioned, each cell the replies "
                     "and mentions between them (an interaction counts once for each group of each side, so "
                     "with members in several groups the cells add up to more than the interactions). The "
                     "diagonal stays within a group."),
        ("code", 'cross.pairs.pivot(index="source_group", columns="target_group", values="weight")'),
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
        ("markdown", "The export's conversations (`load_conversations`): `kind` is `channel` (public), "
                     "`private_channel`, `direct` or `group_direct`; `member_count` is how many members each has "
                     "now. An export holds private channels and DMs only when the workspace's plan and the "
                     "admin's choice include them (this one does)."),
        ("code", 'conversations = chatlens.load_conversations(api, progress=False)\n'
                 'conversations[["label", "kind", "member_count"]]'),
        ("markdown", "## Who keeps coming back\n\n`new_vs_returning`: per month, the members posting, of whom "
                     "`new` posted for the first time in the data loaded and `returning` had posted before "
                     "(bots and system events left out). A healthy community keeps a steady returning count "
                     "while new people arrive. \"First\" means first in the data: the export starts in "
                     "January, so January's members are all new."),
        ("code", 'chatlens.analysis.new_vs_returning(messages)'),
        ("markdown", "`cohort_retention`: members grouped by the month of their first post (rows); each column "
                     "is the share of that cohort posting k months later (column 0 is always 100%). Read along a "
                     "row: 0.6 in column 2 means 60% of that month's newcomers still posted two months on. Here "
                     "every member first posted in January, so there is one cohort, 97% of which still posted "
                     "six months later."),
        ("code", 'chatlens.analysis.cohort_retention(messages).round(2)'),
        ("markdown", "## Is the work spread out\n\n`concentration`: `members_for_half` is the fewest members who "
                     "wrote half the messages and `share_of_members_for_half` their share of the `members` "
                     "posting; `gini` is 0 when everyone posts equally and near 1 when one person writes "
                     "everything. July, every conversation of the export (private ones too), bots and system "
                     "events left out."),
        ("code", 'c = chatlens.analysis.concentration(messages, since="2026-07-01", until="2026-08-01")\n'
                 '{k: round(v, 3) if isinstance(v, float) else v for k, v in c.items()}'),
        ("markdown", "## What is waiting and what went quiet\n\n`unanswered_questions`: roots that read as "
                     "questions (a question mark, or a question word first) that nobody else answered within "
                     "`after`, as of `now` (fixed here, so the answer does not change as time passes), over the "
                     "whole history, the oldest first. Loaded text-free, the frame's `is_question` column (a "
                     "question mark, found at load) decides: question words need the text."),
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
                     "(the last 28 complete days unless told otherwise; here July, `until` left out; text-free "
                     "unless `include_text=True`). On the command line: `chatlens report --account "
                     "my-workspace-export.zip --since 2026-07 --until 2026-08`."),
        ("code", 'report = chatlens.report(api, out=os.path.join(tempfile.mkdtemp(), "team.html"), '
                 'since="2026-07", until="2026-08", progress=False)\n'
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
