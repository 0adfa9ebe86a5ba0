
Boutput_0J÷F½´