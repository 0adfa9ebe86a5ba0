
Boutput_0Jà8<