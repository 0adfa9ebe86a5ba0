
Boutput_0JbABsAfB