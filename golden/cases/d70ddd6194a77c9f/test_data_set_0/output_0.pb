
Boutput_0Jb±