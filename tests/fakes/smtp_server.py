"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps the messages it receives."""

from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tests.stack import free_port


class _Keep:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"to": list(envelope.rcpt_tos), "message": message})
        return "250 OK"


class SMTPReceiver:
    def __init__(self):
        self.handler = _Keep()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self):
        return self.handler.messages

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
