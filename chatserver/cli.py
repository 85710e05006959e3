"""The `chatserver` command: run, create-admin, db upgrade, detect-language."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["run"], ["ai-worker"]):
        # gevent must patch the standard library before anything else imports it.
        from gevent import monkey

        monkey.patch_all()
    _commands()(args=argv, prog_name="chatserver")


def _commands():
    import click

    @click.group(help="chatserver: live-chat support with language routing and an AI fallback agent.")
    def cli() -> None:
        pass

    @cli.command(help="Start the server (gevent). With no configuration: SQLite, in-process state, no key.")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, type=int, show_default=True)
    @click.option("--demo", is_flag=True, help="Create demo agents, clients and languages; serve /demo.")
    def run(host: str, port: int, demo: bool) -> None:
        from . import realtime
        from .app import create_app, socketio
        from .db import upgrade

        app = create_app({"ASYNC_MODE": "gevent"})
        url = app.config["DATABASE_URL"]
        if url.startswith("sqlite"):
            # The embedded default creates and migrates its database on start;
            # shared databases migrate in the release phase (`chatserver db upgrade`).
            upgrade(url)
        if demo:
            from .demo import seed

            for line in seed(app.extensions["chatserver"]):
                click.echo(line, err=True)
            click.echo(f"demo page: http://{host}:{port}/demo", err=True)
        realtime.start(app)
        click.echo(f"chatserver listening on http://{host}:{port}", err=True)
        socketio.run(app, host=host, port=port, log_output=False)

    @cli.command("ai-worker", help="Run AI turns from the Redis job queue (a separate process for scale-out).")
    def ai_worker() -> None:
        from .app import create_app, socketio

        app = create_app({"ASYNC_MODE": "gevent"})
        if not app.config["REDIS_URL"]:
            raise click.ClickException("ai-worker needs REDIS_URL: in embedded mode the server runs AI turns itself.")
        container = app.extensions["chatserver"]
        container.jobs.start()
        click.echo(f"ai-worker running {app.config['AI_WORKERS']} AI workers", err=True)
        while True:
            socketio.sleep(3600)

    @cli.command("create-admin", help="Create an admin agent who can sign in to the API and the consoles.")
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    @click.option("--name", default="Admin", show_default=True)
    def create_admin(email: str, password: str, name: str) -> None:
        from .services.errors import ServiceError

        app = _app_with_schema()
        try:
            agent = app.extensions["chatserver"].admin.create_agent(
                email=email, name=name, password=password, role="admin", languages=["en"],
                teams=["support", "technical", "design", "copywriting", "projects"])
        except ServiceError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"admin {agent.email} created (id {agent.id})")

    @cli.group(help="Database commands.")
    def db() -> None:
        pass

    @db.command(help="Run the Alembic migrations up to the newest revision.")
    def upgrade() -> None:
        from . import config as config_module
        from .db import upgrade as run_upgrade
        from flask import Flask

        app = Flask("chatserver", instance_relative_config=True)
        settings = config_module.finalize(config_module.from_env(), instance_path=app.instance_path)
        run_upgrade(settings["DATABASE_URL"])
        click.echo("database is up to date")

    @cli.command("detect-language", help="Read lines on stdin; print one ISO 639-1 code per line (und when unknown).")
    @click.option("--hint", default=None, help="A language to favour when a line carries little evidence.")
    @click.option("--explain", is_flag=True,
                  help="After each code, a tab, the scores (code=score, best first) and the decision's explanation.")
    @click.option("--detector", default=None,
                  help="Detector backend: combined, fasttext, py3langid or langdetect (default: LANGUAGE_DETECTOR).")
    def detect_language(hint: str | None, explain: bool, detector: str | None) -> None:
        from . import config as config_module
        from .language import decide_language, make_detector, message_weight

        try:
            backend = make_detector(detector or config_module.from_env()["LANGUAGE_DETECTOR"])
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--detector") from None
        for line in sys.stdin:
            text = line.rstrip("\n")
            scores = backend.scores(text)
            decision = decide_language(messages=[(scores, message_weight(text) if scores else 0.0)],
                                       panel_language=hint)
            if explain:
                shown = " ".join(f"{code}={score:.3f}" for code, score in scores.items()) or "-"
                click.echo(f"{decision.language}\t{shown}\t{decision.explanation}")
            else:
                click.echo(decision.language)
            sys.stdout.flush()

    return cli


def _app_with_schema():
    from . import create_app
    from .db import upgrade

    app = create_app({"ASYNC_MODE": "threading"})
    upgrade(app.config["DATABASE_URL"])
    return app


if __name__ == "__main__":
    main()
