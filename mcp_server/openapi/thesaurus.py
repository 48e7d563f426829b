"""The domain's words: what people type for the intents and things of a deployment platform.

Users ask "nuke the app", "bounce the service", "spin up a postgres db", "who is on team 3?";
specs say `deleteApplicationByUuid`, `ReDeploy`, `postgresCreate`, `getMembersByTeamId`. Each
group below names one concept and the words and phrases for it; the index adds the concept as a
token wherever one of them appears, in the operations and in the query alike, so the two meet on
the concept. Groups are about meaning across platforms, never about one query or one spec.
Each group is its words and phrases, comma-separated; inflections are the stemmer's.
"""

from __future__ import annotations

# Words that say nothing about the task (phrases of the groups may still use them).
STOPWORDS = (
    "a, an, and, any, are, as, at, be, by, can, could, do, does, for, from, have, how, "
    "i, in, into, is, it, its, me, my, of, on, or, our, please, should, so, that, the, "
    "their, them, then, there, this, to, up, using, via, want, we, will, with, would, "
    "you, your"
)

# English verbs whose past forms the stemmer cannot bring back to the verb ("built", "sent").
IRREGULAR = (
    "began begun:begin, bought:buy, brought:bring, broke broken:break, built:build, "
    "chose chosen:choose, did done:do, drew drawn:draw, drove driven:drive, fed:feed, "
    "fell fallen:fall, felt:feel, forgot forgotten:forget, froze frozen:freeze, "
    "gave given:give, got gotten:get, gone went:go, grew grown:grow, held:hold, "
    "hid hidden:hide, kept:keep, knew known:know, led:lead, left:leave, lost:lose, "
    "made:make, meant:mean, met:meet, paid:pay, ran:run, rose risen:rise, said:say, "
    "sent:send, shown showed:show, shook shaken:shake, sold:sell, spent:spend, "
    "spoke spoken:speak, stood:stand, stole stolen:steal, stuck:stick, swept:sweep, "
    "taken took:take, taught:teach, thought:think, threw thrown:throw, told:tell, "
    "understood:understand, woke woken:wake, won:win, wrote written:write"
)

# What a task wants done: an operation whose own intent is another one is rarely the answer.
INTENTS: dict[str, str] = {
    "create": (
        "create, add, new, make, spin up, stand up, set up, provision, register, insert, "
        "generate, build new, launch new, attach, upload, store, open, configure, "
        "invite"
        ", spawn, instantiate, put up"
    ),
    "delete": (
        "delete, remove, destroy, nuke, drop, erase, purge, wipe, trash, get rid, "
        "tear down, teardown, uninstall, deregister, unregister, detach, kick, revoke"
        ", rm, del, axe, scrap, throw away, dispose, forget"
    ),
    "list": (
        "list, all, every, everything, enumerate, browse, which, what are, do i have, "
        "are there, overview"
        ", show all, list all"
    ),
    "get": (
        "get, one, fetch, show, view, see, describe, detail, info, inspect, look up, "
        "lookup, read, retrieve, check, find, status, what, current"
        ", display, print, look at, information, details, tell me, give me"
    ),
    "update": (
        "update, edit, change, modify, rename, set, save, configure, invite, patch, "
        "tweak, alter, adjust, rotate, replace, upsert"
        ", amend, fix, correct, reconfigure, write, point"
        ", resize, grow, shrink, extend, expand, bump, upgrade, downgrade"
    ),
    "start": (
        "start, boot, launch, run, bring up, power on, turn on, start up, "
        "back up online, enable, wake, unpause, resume"
        ", fire up, kick off, bring back, bring online"
    ),
    "stop": (
        "stop, halt, shut down, shutdown, turn off, power off, take down, offline, kill, "
        "disable, suspend, pause, freeze"
        ", switch off"
    ),
    "restart": "restart, reboot, bounce, reload, cycle, recycle, redeploy",
    "deploy": "deploy, ship, release, roll out, rollout, publish, push, go live, trigger",
    "cancel": "cancel, abort, kill, interrupt, stuck, stop",
    "rollback": "rollback, roll back, revert, undo, previous",
    "resume": "resume, unpause, wake, unfreeze, reactivate, bring back",
    "pause": "pause, suspend, freeze, deactivate, hibernate, sleep",
    "copy": "copy, clone, duplicate, fork",
    "move": "move, transfer, migrate, relocate",
    "exec": "exec, execute, shell, command, terminal, console, ssh into, run command",
    "validate": "validate, verify, test, check, connect, reachable, ping",
    "refresh": "refresh, recheck, resync, sync, reverify, fresh, renew",
    "clean": "clean, cleanup, prune, purge, free, unused, garbage, clear",
    "accept": "accept, join, approve, confirm",
    "decline": "decline, reject, refuse, say no, turn down",
    "invite": "invite, invitation, send invite",
    "login": "login, log in, sign in, signin, authenticate",
    "logout": "logout, log out, sign out, signout",
    "signup": "signup, sign up, register account, join",
    "expose": "expose, external, public, publicly, outside",
    "backup": "backup, back up, snapshot, dump",
    "rebuild": "rebuild, recreate, from scratch, reinstall, reset",
    "reset": "reset, forgot, forgotten, recover, lost",
    "resend": "resend, send again, re-send, again",
    "switch": "switch, change to, swap to, use another",
    "disconnect": "disconnect, unlink, unhook, detach",
    "grant": "assign, grant, give access, allow, permit",
    "count": "count, how many, number of, total",
    "install": "install, installation, setup, bootstrap",
    "import": "import, bring in, load existing",
    "suggest": "suggest, recommend, suggestion, advice",
    "manual": "manual, manually, now, right now, on demand, immediately",
    "toggle": "toggle, switch, flip",
    "reveal": "reveal, decrypt, plaintext, unmask, show value, see value",
}
# What a task is about.
THINGS: dict[str, str] = {
    "application": "app, application, webapp, site, website",
    "database": (
        "database, db, postgres, postgresql, pg, mysql, mariadb, mongo, mongodb, redis, "
        "keydb, dragonfly, clickhouse, sql"
    ),
    "postgres": "postgres, postgresql, pg, psql",
    "mongo": "mongo, mongodb",
    "redis": "redis, cache, keydb, dragonfly",
    "environment-variable": (
        "env, envs, environment variable, env var, var, variable, dotenv, config var, environment"
    ),
    "server": "server, machine, host, node, box, vps, worker",
    "member": "member, who, people, teammate, colleague, collaborator, staff, someone",
    "user": "user, profile, account, whoami, who am i, myself",
    "self": "current, myself, who am i, whoami, logged in, am i, authenticated",
    "team": "team, organization, org, workspace, group",
    "secret": "secret, credential, password, token, api key, sensitive",
    "key": "key, ssh, private key, deploy key, keypair",
    "volume": "volume, disk, storage, persistent, mount",
    "certificate": "certificate, cert, ssl, tls, https",
    "domain": "domain, hostname, dns, fqdn, subdomain, url",
    "billing": (
        "billing, bill, invoice, payment, pay, subscription, plan, card, cost, money, "
        "unpaid, overdue, owe, outstanding, due"
    ),
    "usage": "usage, used, use, consumption, spend, how much, summary, quota",
    "metrics": "metrics, cpu, memory, ram, stats, statistics, monitoring, graph, load",
    "logs": "log, logs, output, tail, stdout, stderr",
    "version": "version, release tag, build number",
    "health": "health, healthy, healthcheck, alive, up, ping, liveness",
    "build": "build, compile, image build",
    "container": "container, docker, pod",
    "image": "image, docker image, container image",
    "repository": "repo, repository, git, github, gitlab, bitbucket, gitea, source",
    "region": "region, location, datacenter, zone, where",
    "instance": "instance, replica, scale",
    "catalog": "catalog, type, kind, available, offering, flavor, size",
    "bulk": "bulk, batch, many, lots, multiple, several, at once, mass",
    "identifier": "id, uuid, identifier, number",
    "notification": (
        "notification, notify, alert, slack, discord, telegram, email, gotify, ntfy, lark, "
        "push notification"
    ),
    "schedule": "schedule, cron, scheduled, periodic, job",
    "event": "event, history, happened, activity, timeline",
    "archive": "archive, tarball, zip, source code, upload",
    "registry": "registry, docker hub, ghcr, container registry",
    "port": "port, expose",
    "redirect": "redirect, rewrite, forward",
    "auth": "auth, basic auth, password protect, security, login",
    "api": "api, endpoint, access",
    "service": "service, one-click, stack",
    "compose": "compose, docker compose, docker-compose, stack",
    "template": "template, preset, one-click",
    "deployment": "deployment, rollout, release",
    "project": "project, workspace",
    "predicate": "am i, is there, is it, do i, does, has, have, can i, whether",
    "resource": "resource, deployed, running, workload, everything",
    "cluster": "cluster, swarm, node",
    "traefik": "traefik, proxy, reverse proxy, ingress, router",
    "gpu": "gpu, cuda, nvidia",
    "provider": "provider, integration, connection, connector",
    "config": "config, configuration, settings, conf, options",
    "ai": "ai, llm, gpt, openai, model, assistant",
    "destination": "destination, target, bucket, s3, object storage",
    "branch": "branch, branches, ref",
    "session": "session, logged in, login session",
    "default": "default, primary, main",
    "preview": "preview, pull request, pr, review app",
    "tag": "tag, label",
    "sso": "sso, single sign on, oauth, social login",
    "queue": "queue, queued, pending, backlog",
    "process": "process, job, task",
    "permission": "permission, access, role, rights",
    "dashboard": "dashboard, panel, web ui, ui",
    "file": "file, files, document",
    "ip": "ip, ip address, address, public ip",
    "requests": "requests, traffic, access log, http requests",
    "next": "next, upcoming, coming",
    "capacity": "capacity, room, headroom, limit, limits, quota, maximum, max, allowance",
    "root": "root, admin, superuser",
    "directory": "directory, directories, folder",
    "time": "time, clock, date",
    "product": "product, products, plan, plans, pricing, offering",
    "manager": "manager, control plane, master",
}


def phrases(group: str) -> list[str]:
    return [phrase.strip() for phrase in group.split(",") if phrase.strip()]


CONCEPTS: dict[str, list[str]] = {
    concept: phrases(group) for concept, group in {**INTENTS, **THINGS}.items()
}
