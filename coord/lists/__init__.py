"""The two lists (两张清单): each agency's positive and negative list, reviewed, published and used.

Policy §五(一), §二(三), annexes 3 and 4. A `ListVersion` per agency and kind moves
draft → submitted → published (approved by the leading-group office) or → returned with comments;
publishing supersedes the previous published version, which stays readable.
"""
