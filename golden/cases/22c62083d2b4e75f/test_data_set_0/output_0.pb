
Boutput_0JN9