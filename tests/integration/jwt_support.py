"""PyJWT with python-cryptography (the Debian packages python3-jwt and python3-cryptography,
which scripts/install-deps installs), for the tests that check vwr's tokens with an independent
JWT implementation or sign tokens vwr would never issue.
"""

import sys


def import_jwt():
    """The `jwt` module with its EC support, or None when the packages are missing."""
    try:
        import jwt  # noqa: F401
        from cryptography.hazmat.primitives.asymmetric import ec  # noqa: F401
    except ImportError:
        # The interpreter running the tests may not be Debian's (a pyenv or venv Python); the
        # Debian packages live in its dist-packages. Appended, so that nothing else is shadowed.
        if "/usr/lib/python3/dist-packages" in sys.path:
            return None
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import jwt  # noqa: F401
            from cryptography.hazmat.primitives.asymmetric import ec  # noqa: F401
        except ImportError:
            return None
    import jwt
    return jwt
