#!/usr/bin/python3
"""A desktop notification server for tests: owns org.freedesktop.Notifications
on the session bus, answers as a real one does, shows nothing, and prints one
JSON line per Notify call on stdout (flushed at once), after a first line
`ready` once the name is its own. It refuses to run when another program owns
the name: counting beside a real server would count nothing.

`dev.opsdeck.TestRecorder.Click(id)` makes it report that the user clicked
notification `id` (ActionInvoked "default"), as a real server does.

Needs Debian's python3-dbus and python3-gi (run it with /usr/bin/python3).
"""
import json
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
TEST = "dev.opsdeck.TestRecorder"


def plain(value):
    if isinstance(value, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64,
                          dbus.UInt16, dbus.UInt32, dbus.UInt64)):
        return int(value)
    if isinstance(value, dbus.Boolean):
        return bool(value)
    return str(value)


class Recorder(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, PATH)
        self.last_id = 0

    @dbus.service.method(NAME, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return ["body", "actions"]

    @dbus.service.method(NAME, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("opsdeck-test-recorder", "Opsdeck", "1", "1.2")

    @dbus.service.method(NAME, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        self.last_id += 1
        hints = {str(k): plain(v) for k, v in hints.items()}
        record = {
            "id": self.last_id,
            "app": str(app),
            "summary": str(summary),
            "body": str(body),
            "actions": [str(a) for a in actions],
            "urgency": hints.get("urgency"),
            "hints": hints,
        }
        print(json.dumps(record), flush=True)
        return self.last_id

    @dbus.service.method(NAME, in_signature="u", out_signature="")
    def CloseNotification(self, id):
        self.NotificationClosed(id, 3)

    @dbus.service.signal(NAME, signature="uu")
    def NotificationClosed(self, id, reason):
        pass

    @dbus.service.signal(NAME, signature="us")
    def ActionInvoked(self, id, action):
        pass

    @dbus.service.method(TEST, in_signature="u", out_signature="")
    def Click(self, id):
        self.ActionInvoked(id, "default")
        self.NotificationClosed(id, 2)


def main():
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    reply = bus.request_name(NAME, dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
    if reply != dbus.bus.REQUEST_NAME_REPLY_PRIMARY_OWNER:
        print(f"another program owns {NAME} (reply {reply})", file=sys.stderr, flush=True)
        sys.exit(1)
    Recorder(bus)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
