#!/usr/bin/env procsh
print("shebang ok")
