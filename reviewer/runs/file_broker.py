"""The embedded profile's broker: kombu's filesystem transport, with messages that
appear whole.

kombu writes a message into its final name, so a worker polling the folder can take the
file while it is still empty and its consumer stops on the unreadable message. With
reviews on threads, a worker's reaper and the web server send while the worker polls;
here a message is written under a name no reader takes and then renamed into place.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Readers take only names ending in ".<queue>.msg".
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to the queue's folder") from exc


class Transport(filesystem.Transport):
    Channel = Channel
