"""Delivery: sending a build's reports to the people who read them (``edureport send``, ``build --send``).

Above ``batch`` (it reads a build's manifest and files), below ``cli``. One module per job:

- ``distribution``: reads and checks ``params/distribution.yaml`` (who receives which reports, how);
- ``credentials``: the passwords and robot secrets, from environment variables or an owner-only file;
- ``messages``: the Chinese subject, body and robot markdown made from the manifest;
- ``mail``: email over SMTP (SSL or STARTTLS); ``robots``: DingTalk (signed) and WeCom group robots;
- ``sendlog``: what went to whom (report SHA-256), written atomically after each successful send;
- ``send``: the plan of what to send, the dry run, the sending, and the administrators' alert.

The runtime needs only the standard library (smtplib, email, urllib, hmac).
"""
