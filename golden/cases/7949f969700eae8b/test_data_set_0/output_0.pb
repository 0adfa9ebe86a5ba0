Boutput_0J
mD?