"""GitHub's side of a blocked image: the tracking issue a blocked verdict opens (``tracking``), the
machine-readable block it ends with (``metadata``), and the override a maintainer approves or denies
from a comment on it (``override``). Every call to GitHub goes through PyGithub (``client``)."""
