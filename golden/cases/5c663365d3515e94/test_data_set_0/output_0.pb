
Boutput_0Js±