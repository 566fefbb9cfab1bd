"""A lead as people and forms send it: the body intake's `POST /v1/leads` takes (`schema`)
and its validation into a normalised `Lead` (`normalize`, with `fields` and `countries`).

Pure: no I/O. In the kernel because two services take this body (intake captures it,
lead-scoring previews its score) and must read it the same way.
"""
