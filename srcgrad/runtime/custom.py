"""The compiled pieces of user-defined rules, as attributes generated code can name.

Generated files call a custom function ``f`` as ``sgc.<key>(...)`` and its rules as
``sgc.<key>_vjp(...)`` / ``sgc.<key>_jvp0(...)``, where ``sgc`` is this module and ``<key>`` is
the function's name plus a digest of its sources. :mod:`srcgrad.rules.custom` fills the attributes
in when a rule is defined, so the names resolve whenever a file that uses them is compiled, and the
digest in every name means a changed rule gives a new generated file (never stale cached code).
"""
